// Create → pay → await callback → verify, against a running sandbox, with the
// JDK only (java.net.http, com.sun.net.httpserver, javax.crypto).
// Run: SANDBOX_URL=http://127.0.0.1:8080 java docs/examples/http/KhipuFlow.java
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class KhipuFlow {
    static final String BASE = System.getenv().getOrDefault("SANDBOX_URL", "http://127.0.0.1:8080");
    static final HttpClient HTTP = HttpClient.newHttpClient();

    static String call(String method, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(BASE + path)).header("Content-Type", "application/json")
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        HttpResponse<String> res = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() != 200) throw new AssertionError(method + " " + path + ": " + res.statusCode() + " " + res.body());
        return res.body();
    }

    // field returns the first "name":"value" (or "name":value) of a JSON text: enough for this script.
    static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\":\\s*\"?([^\",}]*)").matcher(json);
        if (!m.find()) throw new AssertionError("no " + name + " in " + json);
        return m.group(1);
    }

    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
        System.out.println("ok - " + what);
    }

    public static void main(String[] args) throws Exception {
        CompletableFuture<String[]> received = new CompletableFuture<>();
        HttpServer merchant = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        merchant.createContext("/notify", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            received.complete(new String[] {ex.getRequestHeaders().getFirst("x-khipu-signature"), body});
            ex.sendResponseHeaders(200, 11);
            ex.getResponseBody().write("{\"ok\":true}".getBytes(StandardCharsets.UTF_8));
            ex.close();
        });
        merchant.start();
        try {
            String info = call("GET", "/_sandbox/api/info", null);
            String khipu = info.substring(info.indexOf("\"provider\":\"khipu\""));
            String apiKey = khipu.replaceAll("(?s).*?\"name\":\"api_key\",\"value\":\"([^\"]+)\".*", "$1");
            String secret = khipu.replaceAll("(?s).*?\"name\":\"secret\",\"value\":\"([^\"]+)\".*", "$1");
            String notify = "http://127.0.0.1:" + merchant.getAddress().getPort() + "/notify";
            String payment = call("POST", "/khipu/v3/payments", "{\"subject\":\"Order 1\",\"currency\":\"CLP\",\"amount\":1000,"
                + "\"transaction_id\":\"JAVA-1\",\"notify_url\":\"" + notify + "\",\"notify_api_version\":\"3.0\"}", "x-api-key", apiKey);
            String id = field(payment, "payment_id");
            call("POST", "/_sandbox/api/objects/khipu/" + id + "/actions/pay", "{}");
            call("POST", "/_sandbox/api/clock/advance", "{\"by\":\"1h\"}"); // the verification ends: the notification goes out

            String callbacks = call("GET", "/_sandbox/api/callbacks?object=" + id + "&min=1&wait=10s", null);
            check(callbacks.contains("\"complete\":true") && field(callbacks, "outcome").equals("acknowledged"), "the callback was acknowledged");
            check(call("GET", "/_sandbox/api/objects/khipu/" + id + "?status=done&wait=10s", null).contains("\"complete\":true"), "the payment is done");

            // Verify as a merchant must: HMAC-SHA256(secret, t + "." + raw body), Base64.
            String[] got = received.get(10, TimeUnit.SECONDS);
            Matcher sig = Pattern.compile("t=(\\d+),s=(\\S+)").matcher(got[0]);
            check(sig.matches(), "x-khipu-signature present");
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            byte[] want = mac.doFinal((sig.group(1) + "." + got[1]).getBytes(StandardCharsets.UTF_8));
            check(MessageDigest.isEqual(Base64.getDecoder().decode(sig.group(2)), want), "signature verified");
            check(field(got[1], "payment_id").equals(id), "the notification is about the payment");
        } finally {
            merchant.stop(0);
        }
    }
}
