<?php
// PHP peer for the interop tests (docs/interop.md):
//   php peer.php worker --server=HOST:PORT --prefix=interop.php [--key=KID=HEX] [--max-jobs=N] [--seconds=S]
//   php peer.php client --server=HOST:PORT --function=NAME --call=JSON [--ct=CT] [--key=KID=HEX]
//                       [--verify-key=KID=HEX] [--zlib] [--timeout=S]
//   php peer.php read  < requests.json   # [{payload_hex, job, keys: {kid: hex}, policy: {accept, ...}}]
//   php peer.php write < requests.json   # [{value, ct, job, kid, secret_hex, zlib}] -> [{payload_hex}]
// Values cross the process boundary as canonical JSON: bytes {"$bytes": HEX}, {"$float": "nan"};
// in write requests, {"$int": DIGITS} is an integer that a JSON parser might round.
declare(strict_types=1);
require __DIR__ . '/envelope.php';

function canon(mixed $v): string
{
    if ($v instanceof GmeBytes) return '{"$bytes":"' . bin2hex($v->bytes) . '"}';
    if (is_float($v) && !is_finite($v)) return '{"$float":"' . (is_nan($v) ? 'nan' : ($v > 0 ? 'inf' : '-inf')) . '"}';
    if (is_array($v) && array_is_list($v)) return '[' . implode(',', array_map('canon', $v)) . ']';
    if (is_array($v) || $v instanceof stdClass) {
        $parts = [];
        foreach ((array) $v as $key => $item) $parts[] = canon((string) $key) . ':' . canon($item);
        return '{' . implode(',', $parts) . '}';
    }
    return json_encode($v, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR);
}

function from_canon(mixed $v): mixed
{
    if (is_array($v)) return array_map('from_canon', $v);
    if ($v instanceof stdClass) {
        $fields = get_object_vars($v);
        if (array_keys($fields) === ['$bytes']) return new GmeBytes(hex2bin($fields['$bytes']));
        if (array_keys($fields) === ['$int']) return (int) $fields['$int'];
        if (array_keys($fields) === ['$float']) return ['nan' => NAN, 'inf' => INF, '-inf' => -INF][$fields['$float']];
        return (object) array_map('from_canon', $fields);
    }
    return $v;
}

function secrets(?stdClass $keys): array
{
    return array_map('hex2bin', get_object_vars($keys ?? new stdClass()));
}

function requests(): array
{
    return json_decode(stream_get_contents(STDIN), false, 512, JSON_THROW_ON_ERROR);
}

function cmd_read(): void
{
    $out = [];
    foreach (requests() as $req) {
        try {
            [$ct, $value] = gme_read(hex2bin($req->payload_hex), $req->job, secrets($req->keys ?? null), (array) ($req->policy ?? []));
            $out[] = '{"ok":true,"ct":' . canon($ct) . ',"value":' . canon($value) . '}';
        } catch (GmeError $e) {
            $out[] = canon(['ok' => false, 'error' => $e->category, 'message' => $e->getMessage()]);
        }
    }
    echo '[', implode(',', $out), "]\n";
}

function cmd_write(): void
{
    $out = [];
    foreach (requests() as $req) {
        $secret = isset($req->kid) ? hex2bin($req->secret_hex) : null;
        $payload = gme_write(from_canon($req->value), $req->ct, $req->job, $req->kid ?? null, $secret, (bool) ($req->zlib ?? false));
        $out[] = ['payload_hex' => bin2hex($payload)];
    }
    echo canon($out), "\n";
}

/** "HOST:PORT" plus the --key=KID=HEX options of the command line. */
function server_and_keys(array $opt): array
{
    [$host, $port] = explode(':', $opt['server'] ?? throw new InvalidArgumentException('--server=HOST:PORT is required'));
    return [$host, (int) $port, parse_keys($opt['key'] ?? [])];
}

/** KID=HEX option values as [kid => secret]. */
function parse_keys(array|string $pairs): array
{
    $keys = [];
    foreach ((array) $pairs as $pair) {
        [$kid, $hex] = explode('=', $pair, 2);
        $keys[$kid] = hex2bin($hex);
    }
    return $keys;
}

/** The jobs every peer worker offers (tests/interop/ calls them): PREFIX.reverse, .echo, .add,
 * .power (an int, a float once it overflows PHP_INT_MAX), .fail. */
function run_job(string $name, array $args, stdClass $kwargs): mixed
{
    return match ($name) {
        'reverse' => implode('', array_reverse(preg_split('//u', $args[0], -1, PREG_SPLIT_NO_EMPTY))),
        'echo' => (object) ['args' => $args, 'kwargs' => $kwargs],
        'add' => array_sum($args),
        'power' => $args[0] ** $args[1],
        'fail' => throw new RuntimeException("failed: {$args[0]}"),
    };
}

function cmd_worker(array $opt): void
{
    [$host, $port, $keys] = server_and_keys($opt);
    $kid = array_key_first($keys);
    $maxJobs = (int) ($opt['max-jobs'] ?? 100);
    $deadline = time() + (int) ($opt['seconds'] ?? 60);
    $worker = new GearmanWorker();
    $worker->addServer($host, $port);
    $worker->setTimeout(1000);  // so the loop below can notice its deadline
    foreach (['reverse', 'echo', 'add', 'power', 'fail'] as $name) {
        $function = "{$opt['prefix']}.$name";
        $worker->addFunction($function, function (GearmanJob $job) use ($name, $function, $keys, $kid): string {
            $ct = 'application/json';
            $fields = [];
            $refused = true;  // until the call is read and checked
            try {
                [$ct, $call, $fields] = gme_read($job->workload(), $function, $keys, ['require_signature' => $keys !== []]);
                if (!$call instanceof stdClass || !is_array($call->args ?? null) || !($call->kwargs ?? null) instanceof stdClass) {
                    throw new DomainException('body is not {"args": [...], "kwargs": {...}}');
                }
                // The reply's type (docs/envelope.md): the first listed in accept that this worker
                // writes, the request's type without a list; none writable: refused, not run.
                $replyCt = isset($fields['accept'])
                    ? (array_values(array_intersect(explode(',', $fields['accept']), ['application/json', 'application/msgpack']))[0] ?? null)
                    : $ct;
                if ($replyCt === null) throw new UnexpectedValueException("no content type of accept={$fields['accept']} can be written");
                $refused = false;
                $envelope = gme_write(run_job($name, $call->args, $call->kwargs), $replyCt, $function, $kid, $kid === null ? null : $keys[$kid]);
            } catch (Throwable $e) {
                $error = (object) ['type' => 'interop.php.' . get_class($e), 'message' => $e->getMessage(), 'traceback' => $e->getTraceAsString()];
                if ($refused) $error->refused = true;
                // Error envelopes are JSON, whatever the caller accepts: every peer reads them.
                $job->sendException(gme_write((object) ['error' => $error], 'application/json', $function, $kid, $kid === null ? null : $keys[$kid]));
                $job->setReturn(GEARMAN_WORK_EXCEPTION);
                return '';
            }
            return $envelope;
        });
    }
    echo "ready\n";
    $done = 0;
    while ($done < $maxJobs && time() < $deadline) {
        if (@$worker->work()) {
            $done++;
        } elseif (!in_array($worker->returnCode(), [GEARMAN_TIMEOUT, GEARMAN_IO_WAIT, GEARMAN_NO_JOBS], true)) {
            fwrite(STDERR, 'worker error: ' . $worker->error() . "\n");
            exit(1);
        }
    }
}

function cmd_client(array $opt): void
{
    [$host, $port, $keys] = server_and_keys($opt);
    $kid = array_key_first($keys);
    $function = $opt['function'];
    $client = new GearmanClient();
    $client->addServer($host, $port);
    $client->setTimeout((int) (1000 * (float) ($opt['timeout'] ?? 30)));
    $call = json_decode($opt['call'], false, 512, JSON_THROW_ON_ERROR);
    $payload = gme_write($call, $opt['ct'] ?? 'application/json', $function, $kid, $kid === null ? null : $keys[$kid], isset($opt['zlib']));
    // doNormal() drops the data of a WORK_EXCEPTION; the task API hands it to a callback.
    $outcome = ['state' => 'failed', 'data' => null];
    $client->setCompleteCallback(function (GearmanTask $task) use (&$outcome): void { $outcome = ['state' => 'complete', 'data' => $task->data()]; });
    $client->setExceptionCallback(function (GearmanTask $task) use (&$outcome): void { $outcome = ['state' => 'exception', 'data' => $task->data()]; });
    $client->addTask($function, $payload);
    if (!@$client->runTasks()) {
        echo canon(['state' => 'error', 'code' => $client->returnCode(), 'error' => $client->error()]), "\n";
        exit(4);
    }
    if ($outcome['data'] === null) {
        echo canon(['state' => $outcome['state']]), "\n";
        return;
    }
    // --verify-key=KID=HEX reads signed replies without signing the request (or signs with --key).
    $replyKeys = isset($opt['verify-key']) ? parse_keys($opt['verify-key']) : $keys;
    [$ct, $value, $fields] = gme_read($outcome['data'], $function, $replyKeys);
    $kid = canon($fields['kid'] ?? null);
    echo '{"state":', canon($outcome['state']), ',"ct":', canon($ct), ',"kid":', $kid, ',"value":', canon($value), "}\n";
}

// Run as a script; `require 'peer.php'` only loads the helpers (canon, from_canon).
if (realpath($_SERVER['SCRIPT_FILENAME'] ?? '') === __FILE__) {
    $command = $argv[1] ?? '';
    $opt = [];  // --name=value (repeatable: --key) and --flag, after the command word
    foreach (array_slice($argv, 2) as $arg) {
        if (!preg_match('/^--([a-z-]+)(?:=(.*))?$/s', $arg, $m)) throw new InvalidArgumentException("bad argument $arg");
        $value = $m[2] ?? true;
        $opt[$m[1]] = isset($opt[$m[1]]) ? [...(array) $opt[$m[1]], $value] : $value;
    }
    match ($command) {
        'read' => cmd_read(),
        'write' => cmd_write(),
        'worker' => cmd_worker($opt),
        'client' => cmd_client($opt),
        default => fwrite(STDERR, "usage: php peer.php read|write|worker|client ...\n") && exit(2),
    };
}
