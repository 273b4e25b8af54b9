// A Java client with the production URL and no proxy or trust code: the Go
// test TestProxyJava runs it with only -Dhttps.proxyHost/-Dhttps.proxyPort
// (the sandbox) and -Djavax.net.ssl.trustStore (a store where keytool
// -importcert put the sandbox's CA). Prints the status and the body of a
// Khipu 3.0 bank list.
import java.io.InputStream;
import java.net.URL;
import javax.net.ssl.HttpsURLConnection;

public class Fetch {
    public static void main(String[] args) throws Exception {
        HttpsURLConnection c = (HttpsURLConnection) new URL("https://payment-api.khipu.com/v3/banks").openConnection();
        c.setRequestProperty("x-api-key", "sbx-khipu-apikey-NOT-REAL");
        int status = c.getResponseCode();
        try (InputStream in = status < 400 ? c.getInputStream() : c.getErrorStream()) {
            System.out.println(status);
            System.out.println(new String(in.readAllBytes(), "UTF-8"));
        }
    }
}
