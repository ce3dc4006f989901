use std::collections::HashMap;

use jsonwebtoken::{DecodingKey, Validation};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::*;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";
const PEM: &str = include_str!("fixtures/client-certificate.pem");
const PUBLIC_KEY: &str = include_str!("fixtures/client-certificate-public.pem");
const THUMBPRINT: &str = include_str!("fixtures/client-certificate-x5t-s256.txt");

fn config(server: &MockServer, proof: ClientProof) -> EntraConfig {
    EntraConfig {
        tenant_id: TENANT.to_owned(),
        client_id: CLIENT.to_owned(),
        authority_host: Url::parse(&server.uri()).unwrap(),
        proof,
    }
}

fn source(server: &MockServer, proof: ClientProof) -> EntraTokenSource {
    EntraTokenSource::new(config(server, proof), AZURE_DEVOPS_SCOPE, reqwest::Client::new()).unwrap()
}

fn token_path() -> String {
    format!("/{TENANT}/oauth2/v2.0/token")
}

/// Entra ID's success answer (the v2.0 endpoint's documented members).
fn granted(token: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "access_token": token
    }))
}

/// A token endpoint answering every request with `answer`.
async fn token_endpoint(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path(token_path())).respond_with(answer).mount(&server).await;
    server
}

fn form(request: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body).into_owned().collect()
}

async fn requests(server: &MockServer) -> Vec<HashMap<String, String>> {
    server.received_requests().await.unwrap_or_default().iter().map(form).collect()
}

#[tokio::test]
async fn a_client_secret_is_sent_as_the_client_credentials_grant() {
    let server = token_endpoint(granted("at-1", 3599)).await;
    let source = source(&server, ClientProof::Secret(Secret::new("s3cr3t-value")));
    assert_eq!(source.token().await.unwrap().expose(), "at-1");
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 1);
    let fields = &sent[0];
    assert_eq!(fields["grant_type"], "client_credentials");
    assert_eq!(fields["client_id"], CLIENT);
    assert_eq!(fields["scope"], "499b84ac-1321-427f-aa17-267ca6975798/.default");
    assert_eq!(fields["client_secret"], "s3cr3t-value");
    assert!(!fields.contains_key("client_assertion"));
    let received = server.received_requests().await.unwrap();
    assert_eq!(received[0].headers["content-type"], "application/x-www-form-urlencoded");
}

#[tokio::test]
async fn a_token_is_reused_within_its_lifetime_and_refetched_when_near_expiry_or_invalidated() {
    let server = token_endpoint(granted("at-1", 3599)).await;
    let source = source(&server, ClientProof::Secret(Secret::new("s")));
    let first = source.token().await.unwrap();
    for _ in 0..5 {
        assert_eq!(source.token().await.unwrap(), first);
    }
    assert_eq!(requests(&server).await.len(), 1, "one request for six tokens");
    // Refused by the API: forgotten, the next call asks again.
    source.invalidate(&first).await;
    source.token().await.unwrap();
    assert_eq!(requests(&server).await.len(), 2);
    // Invalidating a token already replaced keeps the new one.
    source.invalidate(&Secret::new("older")).await;
    source.token().await.unwrap();
    assert_eq!(requests(&server).await.len(), 2);

    // A token that lives less than the refresh margin is asked for again each time.
    let short = token_endpoint(granted("at-short", 200)).await;
    let source = self::source(&short, ClientProof::Secret(Secret::new("s")));
    source.token().await.unwrap();
    source.token().await.unwrap();
    assert_eq!(requests(&short).await.len(), 2);
}

#[tokio::test]
async fn the_certificate_assertion_is_signed_by_the_certificate_key_for_the_token_endpoint() {
    let server = token_endpoint(granted("at-cert", 3599)).await;
    let key = CertificateKey::from_pem(PEM).unwrap();
    assert_eq!(key.thumbprint_s256(), THUMBPRINT.trim());
    let source = source(&server, ClientProof::Certificate(Arc::new(key)));
    assert_eq!(source.token().await.unwrap().expose(), "at-cert");
    let sent = requests(&server).await;
    let fields = &sent[0];
    assert_eq!(fields["client_assertion_type"], "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    assert!(!fields.contains_key("client_secret"));
    let assertion = &fields["client_assertion"];

    let header = jsonwebtoken::decode_header(assertion).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.x5t_s256.as_deref(), Some(THUMBPRINT.trim()));
    let token_url = format!("{}{}", server.uri(), token_path());
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&token_url]);
    validation.set_issuer(&[CLIENT]);
    let claims = jsonwebtoken::decode::<AssertionClaims>(
        assertion,
        &DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims.sub, CLIENT);
    assert_eq!(claims.exp - claims.iat, 600, "ten minutes of life");
    assert!(uuid::Uuid::parse_str(&claims.jti).is_ok());

    // A second assertion has a new id.
    source.invalidate(&Secret::new("at-cert")).await;
    source.token().await.unwrap();
    let sent = requests(&server).await;
    assert_ne!(sent[0]["client_assertion"], sent[1]["client_assertion"]);
}

#[test]
fn a_pem_without_key_or_certificate_is_refused_without_quoting_it() {
    let key_only: String = PEM.split("-----BEGIN CERTIFICATE-----").next().unwrap().to_owned();
    let certificate_only = &PEM[PEM.find("-----BEGIN CERTIFICATE-----").unwrap()..];
    let cases = [(key_only.as_str(), "no CERTIFICATE block"), (certificate_only, "no PRIVATE KEY block")];
    for (pem, reason) in cases {
        let error = CertificateKey::from_pem(pem).err().unwrap();
        assert_eq!(error, reason);
    }
    // The certificate after the key, or before it: both read.
    let reversed = format!("{certificate_only}{key_only}");
    assert_eq!(CertificateKey::from_pem(&reversed).unwrap().thumbprint_s256(), THUMBPRINT.trim());
}

/// AWS STS's Query-protocol answer to `GetWebIdentityToken`.
fn sts_answer(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).insert_header("content-type", "text/xml").set_body_string(format!(
        r#"<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetWebIdentityTokenResult>
    <WebIdentityToken>{token}</WebIdentityToken>
    <Expiration>2026-12-02T12:10:00Z</Expiration>
  </GetWebIdentityTokenResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</GetWebIdentityTokenResponse>"#
    ))
}

fn sts_client(server: &MockServer) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("eu-west-1"))
        .endpoint_url(server.uri())
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI",
            None,
            None,
            "test",
        ))
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

#[tokio::test]
async fn the_federated_assertion_is_a_web_identity_token_from_sts() {
    let sts = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("Action=GetWebIdentityToken"))
        .respond_with(sts_answer("eyJraWQiOiJzdHMifQ.eyJzdWIiOiJyb2xlIn0.c2ln"))
        .mount(&sts)
        .await;
    let entra = token_endpoint(granted("at-fed", 3599)).await;
    let source = source(&entra, ClientProof::Federated).with_sts(sts_client(&sts));
    assert_eq!(source.token().await.unwrap().expose(), "at-fed");

    let asked = sts.received_requests().await.unwrap();
    assert_eq!(asked.len(), 1);
    let fields: HashMap<String, String> = form(&asked[0]);
    assert_eq!(fields["Action"], "GetWebIdentityToken");
    assert_eq!(fields["Audience.member.1"], "api://AzureADTokenExchange");
    assert_eq!(fields["SigningAlgorithm"], "RS256");
    assert!(
        asked[0].headers["authorization"].to_str().unwrap().starts_with("AWS4-HMAC-SHA256"),
        "SigV4 signed"
    );
    let sent = requests(&entra).await;
    assert_eq!(sent[0]["client_assertion"], "eyJraWQiOiJzdHMifQ.eyJzdWIiOiJyb2xlIn0.c2ln");
    assert_eq!(sent[0]["client_assertion_type"], "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    assert!(!sent[0].contains_key("client_secret"));
}

#[tokio::test]
async fn sts_refusing_the_role_is_a_rejected_credential_naming_the_permission() {
    let sts = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).insert_header("content-type", "text/xml").set_body_string(
            r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:GetWebIdentityToken</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"#,
        ))
        .mount(&sts)
        .await;
    let entra = MockServer::start().await;
    let source = source(&entra, ClientProof::Federated).with_sts(sts_client(&sts));
    let error = source.token().await.unwrap_err();
    assert_eq!(error.kind, EntraErrorKind::Rejected);
    let text = error.to_string();
    assert!(text.contains(CLIENT) && text.contains(TENANT), "{text}");
    assert!(text.contains("AccessDenied") && text.contains("sts:GetWebIdentityToken"), "{text}");
    assert!(requests(&entra).await.is_empty(), "no token request without an assertion");
}

#[tokio::test]
async fn entra_refusals_name_tenant_and_client_never_the_secret() {
    let server = MockServer::start().await;
    // The documented error body of a wrong secret (AADSTS7000215).
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '00001111-aaaa-2222-bbbb-3333cccc4444'. s3cr3t-value\r\nTrace ID: 0000\r\nCorrelation ID: 1111",
            "error_codes": [7000215],
        })))
        .mount(&server)
        .await;
    let source = source(&server, ClientProof::Secret(Secret::new("s3cr3t-value")));
    let error = source.token().await.unwrap_err();
    assert_eq!(error.kind, EntraErrorKind::Rejected);
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "Entra ID token for client {CLIENT} in tenant {TENANT}: HTTP 401: invalid_client: AADSTS7000215"
        )),
        "{text}"
    );
    assert!(text.contains("check AZURE_CLIENT_SECRET"), "{text}");
    assert!(!text.contains("s3cr3t-value"), "{text}");
    assert!(!text.contains("Trace ID"), "only the first line: {text}");
    assert!(!format!("{source:?}").contains("s3cr3t-value"));

    // Busy or failing: unavailable, to be tried again.
    let busy = token_endpoint(ResponseTemplate::new(503)).await;
    let error = self::source(&busy, ClientProof::Secret(Secret::new("s"))).token().await.unwrap_err();
    assert_eq!(error.kind, EntraErrorKind::Unavailable);
}

#[test]
fn the_token_endpoint_is_under_the_authority_and_tenant() {
    let config = EntraConfig {
        tenant_id: TENANT.to_owned(),
        client_id: CLIENT.to_owned(),
        authority_host: Url::parse("https://login.microsoftonline.us/").unwrap(),
        proof: ClientProof::Federated,
    };
    assert_eq!(
        config.token_url().unwrap().as_str(),
        format!("https://login.microsoftonline.us/{TENANT}/oauth2/v2.0/token")
    );
}
