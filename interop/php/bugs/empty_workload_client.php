<?php
// Reproduces a php-gearman / libgearman limit: GearmanClient refuses an empty workload before
// sending anything (GEARMAN_INVALID_ARGUMENT, "invalid workload"). Prints the outcome as JSON.
//   php empty_workload_client.php HOST PORT FUNCTION
declare(strict_types=1);
[, $host, $port, $function] = $argv + [null, null, null, null];
if ($function === null) {
    fwrite(STDERR, "usage: php empty_workload_client.php HOST PORT FUNCTION\n");
    exit(2);
}
$client = new GearmanClient();
$client->addServer($host, (int) $port);
$client->setTimeout(5000);
$result = @$client->doNormal($function, '');
$code = $client->returnCode();
echo json_encode(['code' => $code, 'success' => $code === GEARMAN_SUCCESS, 'error' => $client->error(), 'result' => $result]), "\n";
