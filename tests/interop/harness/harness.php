<?php
// Runs the PHP snippets of docs/interop.md (inserted below by test_doc_snippets.py) on requests from stdin.
require '{repo}/interop/php/peer.php';
/*SNIPPETS*/
$out = [];
foreach (json_decode(stream_get_contents(STDIN), false, 512, JSON_THROW_ON_ERROR) as $r) {
    if ($r->mode === 'write') {
        $secret = isset($r->kid) ? hex2bin($r->secret_hex) : null;
        $out[] = canon(['payload_hex' => bin2hex(write_gme_envelope($r->value, $r->job, $r->kid ?? null, $secret))]);
        continue;
    }
    try {
        [$ct, $value] = read_gme_envelope(hex2bin($r->payload_hex), $r->job, array_map('hex2bin', (array) $r->keys));
        $out[] = '{"ok":true,"ct":' . canon($ct) . ',"value":' . canon($value) . '}';
    } catch (Throwable $e) {
        $out[] = canon(['ok' => false, 'error' => get_class($e) . ': ' . $e->getMessage()]);
    }
}
echo '[', implode(',', $out), ']';
