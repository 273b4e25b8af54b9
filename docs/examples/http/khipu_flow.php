<?php
// Create → pay → await callback → verify, against a running sandbox, with
// PHP's curl and sockets only. Run: SANDBOX_URL=http://127.0.0.1:8080 php docs/examples/http/khipu_flow.php
$base = getenv('SANDBOX_URL') ?: 'http://127.0.0.1:8080';

function call(string $method, string $url, ?string $body = null, array $headers = []): array {
    $c = curl_init($url);
    curl_setopt_array($c, [CURLOPT_CUSTOMREQUEST => $method, CURLOPT_RETURNTRANSFER => true,
        CURLOPT_HTTPHEADER => array_merge(['Content-Type: application/json'], $headers), CURLOPT_TIMEOUT => 30]);
    if ($body !== null) curl_setopt($c, CURLOPT_POSTFIELDS, $body);
    $out = curl_exec($c);
    $status = curl_getinfo($c, CURLINFO_RESPONSE_CODE);
    curl_close($c);
    if ($status !== 200) fail("$method $url: $status $out");
    return json_decode($out, true);
}
function fail(string $why): void { fwrite(STDERR, "FAIL: $why\n"); exit(1); }
function check(bool $ok, string $what): void { if (!$ok) fail($what); echo "ok - $what\n"; }

// The merchant: one socket that takes one notification and answers 200.
$server = stream_socket_server('tcp://127.0.0.1:0', $errno, $errstr) or fail($errstr);
$port = parse_url('tcp://' . stream_socket_get_name($server, false), PHP_URL_PORT);

$info = call('GET', "$base/_sandbox/api/info");
foreach ($info['providers'] as $p) if ($p['provider'] === 'khipu') $khipu = $p;
$f = array_column($khipu['credentials'][0]['fields'], 'value', 'name');

$payment = call('POST', "$base/khipu/v3/payments", json_encode(['subject' => 'Order 1', 'currency' => 'CLP',
    'amount' => 1000, 'transaction_id' => 'PHP-1', 'notify_url' => "http://127.0.0.1:$port/notify",
    'notify_api_version' => '3.0']), ['x-api-key: ' . $f['api_key']]);
$id = $payment['payment_id'];
call('POST', "$base/_sandbox/api/objects/khipu/$id/actions/pay", '{}');
$adv = call('POST', "$base/_sandbox/api/clock/advance", '{"by":"1h"}');
check(in_array('verification', array_column($adv['fired'], 'kind')), 'the advance ended the verification');

// Receive the notification: headers, then Content-Length bytes of body.
$conn = stream_socket_accept($server, 10) or fail('no notification within 10 s');
$head = '';
while (!str_contains($head, "\r\n\r\n")) $head .= fread($conn, 1);
preg_match('/^content-length:\s*(\d+)/mi', $head, $m);
$body = '';
while (strlen($body) < (int)$m[1]) $body .= fread($conn, (int)$m[1] - strlen($body));
fwrite($conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}");
fclose($conn);

// Verify as a merchant must: HMAC-SHA256(secret, t + "." + raw body), Base64.
preg_match('/^x-khipu-signature:\s*t=(\d+),s=(\S+)/mi', $head, $sig) or fail("no x-khipu-signature in\n$head");
check(hash_equals(base64_encode(hash_hmac('sha256', $sig[1] . '.' . $body, $f['secret'], true)), $sig[2]), 'signature verified');
check(json_decode($body, true)['payment_id'] === $id, 'the notification is about the payment');

$cbs = call('GET', "$base/_sandbox/api/callbacks?object=$id&min=1&wait=10s");
check($cbs['complete'] && $cbs['entries'][0]['callback']['outcome'] === 'acknowledged', 'the sandbox saw the 200');
$paid = call('GET', "$base/_sandbox/api/objects/khipu/$id?status=done&wait=10s");
check($paid['complete'], 'the payment is done');
