<?php
// Envelope v1 reader and writer for PHP peers of django-gearman, written from docs/design.md.
//   [$ct, $value] = gme_read($payload, $job, ['k1' => 'secret']);
//   $payload = gme_write($value, 'application/json', $job, 'k1', 'secret');
// JSON objects and msgpack maps read as stdClass (so {} and [] stay apart), bytes as GmeBytes.
declare(strict_types=1);

/** A refused envelope; $category (malformed, bad-signature, decode, ...) says why without prose. */
final class GmeError extends RuntimeException
{
    public function __construct(public readonly string $category, string $message)
    {
        parent::__construct("$category: $message");
    }
}

/** Bytes that are not text (msgpack bin, an octet-stream body): PHP strings cannot say so. */
final class GmeBytes
{
    public function __construct(public readonly string $bytes) {}
}

const GME_DEFAULT_POLICY = [
    'accept' => ['application/json', 'application/msgpack'],
    'require_signature' => false,
    'max_header_bytes' => 8 * 1024,
    'max_body_bytes' => 16 * 1024 * 1024,
    'max_decoded_bytes' => 64 * 1024 * 1024,
    'unenveloped' => null,  // a content type for payloads without the GME/ marker
];
const GME_UNSAFE = ['application/x-python-pickle'];
const GME_MAX_DEPTH = 1024;  // nested containers, as in Python  // needs a signature; never readable here

/**
 * The reader (copy this one). Checks run in the order of docs/envelope.md: marker, header grammar,
 * sizes, content type, signature, then zlib and the body. $keys maps key id => secret.
 */
function gme_read(string $payload, string $job, array $keys = [], array $policy = []): array
{
    $policy = array_merge(GME_DEFAULT_POLICY, array_filter($policy, fn ($v) => $v !== null));
    if (!str_starts_with($payload, 'GME/')) return gme_read_unenveloped($payload, $policy);
    $nl = strpos(substr($payload, 0, $policy['max_header_bytes'] + 1), "\n");
    $tokens = explode(' ', $nl === false ? substr($payload, 0, 16) : substr($payload, 0, $nl));
    $magic = array_shift($tokens);
    if ($magic !== 'GME/1') {
        $future = preg_match('~^GME/([1-9][0-9]{0,8})$~', $magic, $m) && (int) $m[1] !== 1;
        throw new GmeError($future ? 'unsupported-version' : 'malformed', 'not a GME/1 envelope');
    }
    if ($nl === false && strlen($payload) > $policy['max_header_bytes']) throw new GmeError('too-large', 'header too long');
    if ($nl === false) throw new GmeError('malformed', 'header is not terminated by a newline');
    [$header, $body] = [substr($payload, 0, $nl), substr($payload, $nl + 1)];
    $f = [];
    foreach ($tokens as $token) {
        if (!preg_match('/^([a-z][a-z0-9-]*)=([\x21-\x7e]+)$/', $token, $m)) throw new GmeError('malformed', "bad token '$token'");
        if (isset($f[$m[1]])) throw new GmeError('malformed', "duplicate key {$m[1]}");
        $f[$m[1]] = $m[2];
    }
    $sig = $f['sig'] ?? null;
    if (!isset($f['ct'])) throw new GmeError('malformed', 'no ct');
    if ($sig !== null && !str_starts_with(end($tokens), 'sig=')) throw new GmeError('malformed', 'sig is not the last token');
    if ($sig !== null && !preg_match('/^[0-9a-f]{64}$/', $sig)) throw new GmeError('malformed', 'sig must be 64 lowercase hex digits');
    if (($sig === null) !== !isset($f['kid'])) throw new GmeError('malformed', 'kid and sig go together');
    if (in_array('', explode(',', $f['accept'] ?? 'x'), true)) throw new GmeError('malformed', 'empty item in accept');
    if (strlen($body) > $policy['max_body_bytes']) throw new GmeError('too-large', 'body too long');
    if (!in_array($f['ct'], $policy['accept'], true)) throw new GmeError('not-accepted', "content type {$f['ct']}");
    if (($f['enc'] ?? 'zlib') !== 'zlib') throw new GmeError('not-accepted', "encoding {$f['enc']}");
    if ($sig !== null) {
        $secret = $keys[$f['kid']] ?? throw new GmeError('unknown-key', "unknown key id '{$f['kid']}'");
        $signed = substr($header, 0, strrpos($header, ' sig='));
        if (!hash_equals(hash_hmac('sha256', "$job\n$signed\n$body", $secret), $sig)) {
            throw new GmeError('bad-signature', "signature does not match job '$job'");
        }
    } elseif ($policy['require_signature'] || in_array($f['ct'], GME_UNSAFE, true)) {
        throw new GmeError('signature-missing', 'envelope is not signed');
    }
    if (isset($f['enc'])) $body = gme_inflate($body, $policy['max_decoded_bytes']);
    if (strlen($body) > $policy['max_decoded_bytes']) throw new GmeError('too-large', 'body too long');
    return [$f['ct'], gme_decode_body($f['ct'], $body), $f];
}

/** The one rule for payloads without the marker: an unsigned body of the policy's content type. */
function gme_read_unenveloped(string $payload, array $policy): array
{
    $ct = $policy['unenveloped'] ?? throw new GmeError('malformed', 'not an envelope: no GME/ marker');
    if (strlen($payload) > min($policy['max_body_bytes'], $policy['max_decoded_bytes'])) throw new GmeError('too-large', 'payload too long');
    if ($policy['require_signature'] || in_array($ct, GME_UNSAFE, true)) throw new GmeError('signature-missing', 'unenveloped payloads are unsigned');
    return [$ct, gme_decode_body($ct, $payload), []];
}

/**
 * zlib as Python's reader takes it: never more than $limit bytes out (input goes in 4 KiB steps,
 * so a bomb is stopped early), and corrupt, truncated or trailing bytes are refused.
 */
function gme_inflate(string $body, int $limit): string
{
    $inflater = inflate_init(ZLIB_ENCODING_DEFLATE);
    $out = '';
    for ($at = 0; $at < strlen($body) && inflate_get_status($inflater) !== ZLIB_STREAM_END; $at += 4096) {
        $chunk = @inflate_add($inflater, substr($body, $at, 4096), ZLIB_SYNC_FLUSH);
        if ($chunk === false) throw new GmeError('decode', 'corrupt zlib body');
        $out .= $chunk;
        if (strlen($out) > $limit) throw new GmeError('too-large', "body inflates beyond $limit bytes");
    }
    if (inflate_get_status($inflater) !== ZLIB_STREAM_END) throw new GmeError('decode', 'truncated zlib body');
    if (inflate_get_read_len($inflater) !== strlen($body)) throw new GmeError('decode', 'trailing bytes after the zlib body');
    return $out;
}

function gme_decode_body(string $ct, string $body): mixed
{
    switch ($ct) {
        case 'application/json':
            $suspicious = preg_match('/[0-9]{19}|[eE][+-]?[0-9]{3}/', $body) === 1;
            if ($suspicious) gme_refuse_inexact_integers($body);
            try {
                $value = json_decode($body, false, GME_MAX_DEPTH + 1, JSON_THROW_ON_ERROR);  // PHP counts one more level
            } catch (JsonException $e) {
                throw new GmeError('decode', 'unreadable JSON: ' . $e->getMessage());
            }
            if ($suspicious) gme_refuse_infinity($value);
            return $value;
        case 'application/msgpack':
            $at = 0;
            $value = gme_mp_read($body, $at, 0);
            if ($at !== strlen($body)) throw new GmeError('decode', 'trailing bytes after the msgpack value');
            return $value;
        case 'text/plain':
            if (!gme_is_utf8($body)) throw new GmeError('decode', 'text/plain body is not UTF-8');
            return $body;
        case 'application/octet-stream':
            return new GmeBytes($body);
    }
    throw new GmeError('not-accepted', "content type $ct");
}

/**
 * JSON integers: PHP holds [PHP_INT_MIN, PHP_INT_MAX] exactly (as its msgpack reader does);
 * json_decode would turn a literal beyond that into a rounded float, so it is refused.
 */
function gme_refuse_inexact_integers(string $text): void
{
    $pattern = '/("[^"\\\\]*+(?:\\\\.[^"\\\\]*+)*+")|(?<![0-9.eE+-])(-?)([0-9]{19,})(?![0-9.eE])/s';
    if (preg_match_all($pattern, $text, $matches, PREG_SET_ORDER) === false) {
        throw new GmeError('decode', 'JSON body too complex to check its integers');
    }
    foreach ($matches as $m) {
        if (($m[1] ?? '') !== '') continue;  // a string
        $max = $m[2] === '-' ? '9223372036854775808' : '9223372036854775807';
        if (strlen($m[3]) > strlen($max) || (strlen($m[3]) === strlen($max) && strcmp($m[3], $max) > 0)) {
            throw new GmeError('decode', "integer {$m[2]}{$m[3]} is beyond PHP's integer range");
        }
    }
}

/** A number literal too large for a double (1e400) decodes as INF here; Python refuses it. */
function gme_refuse_infinity(mixed $value): void
{
    $stack = [$value];
    while ($stack) {
        $item = array_pop($stack);
        if (is_float($item) && is_infinite($item)) throw new GmeError('decode', 'a number is too large for a double');
        if (is_array($item) || $item instanceof stdClass) array_push($stack, ...array_values((array) $item));
    }
}

/** The writer: $kid + $secret sign the envelope for $job; $zlib compresses the body. */
function gme_write(mixed $value, string $ct, string $job, ?string $kid = null, ?string $secret = null, bool $zlib = false, ?string $accept = null): string
{
    $body = match ($ct) {
        'application/json' => gme_json_text($value),
        'application/msgpack' => gme_mp_write($value),
        'text/plain' => (string) $value,
        'application/octet-stream' => $value instanceof GmeBytes ? $value->bytes : (string) $value,
        default => throw new GmeError('not-accepted', "cannot write $ct"),
    };
    $header = "GME/1 ct=$ct";
    if ($zlib) {
        $body = gzcompress($body);
        $header .= ' enc=zlib';
    }
    if ($accept !== null) $header .= " accept=$accept";
    if ($kid !== null) {
        $header .= " kid=$kid";
        $header .= ' sig=' . hash_hmac('sha256', "$job\n$header\n$body", (string) $secret);
    }
    return "$header\n$body";
}

/** JSON text; NaN and infinities are refused (JSON has neither; json_encode would throw). */
function gme_json_text(mixed $value): string
{
    try {
        return json_encode(gme_for_json($value), JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR);
    } catch (JsonException $e) {
        throw new GmeError('not-accepted', 'JSON cannot carry this value: ' . $e->getMessage());
    }
}

function gme_for_json(mixed $value): mixed
{
    if ($value instanceof GmeBytes) throw new GmeError('not-accepted', 'JSON cannot carry bytes');
    if (is_array($value)) return array_map('gme_for_json', $value);
    if ($value instanceof stdClass) return (object) array_map('gme_for_json', (array) $value);
    return $value;
}

// A minimal msgpack codec: PHP's msgpack extension reads {} as [] and writes stdClass wrongly.
function gme_mp_take(string $b, int &$at, int $n): string
{
    if ($n < 0 || $at + $n > strlen($b)) throw new GmeError('decode', 'truncated msgpack');
    $chunk = substr($b, $at, $n);
    $at += $n;
    return $chunk;
}

function gme_mp_uint(string $b, int &$at, int $size): int
{
    $v = unpack([1 => 'C', 2 => 'n', 4 => 'N', 8 => 'J'][$size], gme_mp_take($b, $at, $size))[1];
    if ($v < 0) throw new GmeError('decode', 'unsigned integer beyond PHP_INT_MAX');
    return $v;
}

function gme_mp_int(string $b, int &$at, int $size): int
{
    $v = unpack([1 => 'C', 2 => 'n', 4 => 'N', 8 => 'J'][$size], gme_mp_take($b, $at, $size))[1];
    $bits = 8 * $size;
    return ($size < 8 && $v >= 1 << ($bits - 1)) ? $v - (1 << $bits) : $v;
}

/** $depth: how many containers enclose this value (Python allows 1024 nested containers). */
function gme_mp_read(string $b, int &$at, int $depth): mixed
{
    $t = ord(gme_mp_take($b, $at, 1));
    $len = null;
    if ($t <= 0x7f) return $t;
    if ($t >= 0xe0) return $t - 0x100;
    if (($t & 0xe0) === 0xa0) return gme_mp_text(gme_mp_take($b, $at, $t & 0x1f));
    if (($t & 0xf0) === 0x90) return gme_mp_list($b, $at, $t & 0x0f, $depth);
    if (($t & 0xf0) === 0x80) return gme_mp_map($b, $at, $t & 0x0f, $depth);
    return match ($t) {
        0xc0 => null, 0xc2 => false, 0xc3 => true,
        0xc4, 0xc5, 0xc6 => new GmeBytes(gme_mp_take($b, $at, gme_mp_uint($b, $at, 1 << ($t - 0xc4)))),
        0xca => unpack('G', gme_mp_take($b, $at, 4))[1],
        0xcb => unpack('E', gme_mp_take($b, $at, 8))[1],
        0xcc, 0xcd, 0xce, 0xcf => gme_mp_uint($b, $at, 1 << ($t - 0xcc)),
        0xd0, 0xd1, 0xd2, 0xd3 => gme_mp_int($b, $at, 1 << ($t - 0xd0)),
        0xd9, 0xda, 0xdb => gme_mp_text(gme_mp_take($b, $at, gme_mp_uint($b, $at, 1 << ($t - 0xd9)))),
        0xdc, 0xdd => gme_mp_list($b, $at, gme_mp_uint($b, $at, 2 << ($t - 0xdc)), $depth),
        0xde, 0xdf => gme_mp_map($b, $at, gme_mp_uint($b, $at, 2 << ($t - 0xde)), $depth),
        default => throw new GmeError('decode', sprintf('unsupported msgpack type 0x%02x', $t)),
    };
}

function gme_mp_text(string $s): string
{
    if (!gme_is_utf8($s)) throw new GmeError('decode', 'msgpack str is not UTF-8');
    return $s;
}

function gme_mp_list(string $b, int &$at, int $n, int $depth): array
{
    if ($depth >= GME_MAX_DEPTH) throw new GmeError('decode', 'msgpack nested too deeply');
    $items = [];
    for ($i = 0; $i < $n; $i++) $items[] = gme_mp_read($b, $at, $depth + 1);
    return $items;
}

function gme_mp_map(string $b, int &$at, int $n, int $depth): stdClass
{
    if ($depth >= GME_MAX_DEPTH) throw new GmeError('decode', 'msgpack nested too deeply');
    $map = new stdClass();
    for ($i = 0; $i < $n; $i++) {
        $key = gme_mp_read($b, $at, $depth + 1);
        if (!is_string($key)) throw new GmeError('decode', 'msgpack map key is not a string');
        if (str_starts_with($key, "\0")) throw new GmeError('decode', 'a PHP object key cannot start with NUL');
        $map->{$key} = gme_mp_read($b, $at, $depth + 1);
    }
    return $map;
}

function gme_mp_write(mixed $v): string
{
    if ($v === null) return "\xc0";
    if (is_bool($v)) return $v ? "\xc3" : "\xc2";
    if (is_float($v)) return "\xcb" . pack('E', $v);
    if (is_int($v)) {
        if ($v >= 0) return match (true) {
            $v < 0x80 => chr($v), $v < 0x100 => "\xcc" . chr($v), $v < 0x10000 => "\xcd" . pack('n', $v),
            $v < 0x100000000 => "\xce" . pack('N', $v), default => "\xcf" . pack('J', $v) };
        return match (true) {
            $v >= -32 => chr($v & 0xff), $v >= -128 => "\xd0" . chr($v & 0xff), $v >= -32768 => "\xd1" . pack('n', $v & 0xffff),
            $v >= -2147483648 => "\xd2" . pack('N', $v & 0xffffffff), default => "\xd3" . pack('J', $v) };
    }
    if (is_string($v) && !gme_is_utf8($v)) $v = new GmeBytes($v);
    if ($v instanceof GmeBytes) return gme_mp_head(strlen($v->bytes), -1, "\xc4", "\xc5", "\xc6") . $v->bytes;
    if (is_string($v)) return gme_mp_head(strlen($v), 0xa0, "\xd9", "\xda", "\xdb") . $v;
    if (is_array($v) && array_is_list($v)) {
        return gme_mp_head(count($v), 0x90, null, "\xdc", "\xdd") . implode('', array_map('gme_mp_write', $v));
    }
    if (is_array($v) || $v instanceof stdClass) {
        $out = '';
        foreach ((array) $v as $key => $item) $out .= gme_mp_write((string) $key) . gme_mp_write($item);
        return gme_mp_head(count((array) $v), 0x80, null, "\xde", "\xdf") . $out;
    }
    throw new GmeError('not-accepted', 'msgpack cannot carry a ' . get_debug_type($v));
}

/** Type byte plus length: the fix form when it fits, else the 8-, 16- or 32-bit length form. */
function gme_mp_head(int $n, int $fix, ?string $b8, string $b16, string $b32): string
{
    $fixMax = $fix === 0xa0 ? 31 : 15;
    if ($fix >= 0 && $n <= $fixMax) return chr($fix | $n);
    if ($b8 !== null && $n < 0x100) return $b8 . chr($n);
    return $n < 0x10000 ? $b16 . pack('n', $n) : $b32 . pack('N', $n);
}

function gme_is_utf8(string $s): bool
{
    return preg_match('//u', $s) === 1;  // works without the mbstring extension
}
