<?php
// A PHP curl client with production URLs and no proxy or CA code: the Go
// test TestProxyPHPCurl runs it with only the environment variable
// https_proxy=http://127.0.0.1:PORT (the sandbox) and -d curl.cainfo=ca.pem
// (the sandbox's CA). Prints the HTTP status and the body of a Khipu 3.0
// bank list.
$ch = curl_init('https://payment-api.khipu.com/v3/banks');
curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
curl_setopt($ch, CURLOPT_HTTPHEADER, ['x-api-key: sbx-khipu-apikey-NOT-REAL']);
$body = curl_exec($ch);
if ($body === false) {
    fwrite(STDERR, 'curl error: ' . curl_error($ch) . "\n");
    exit(1);
}
echo curl_getinfo($ch, CURLINFO_RESPONSE_CODE), "\n", $body, "\n";
