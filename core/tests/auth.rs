//! The auth core: accounts with bcrypt hashes, the default admin and its deletion marker, RS256
//! tokens and every way a forged or stale token is refused, revocation, and endpoint scopes.
//! Each test uses a memory store and its own temporary keys directory.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use micro::auth::{Auth, Claims, DEFAULT_TTL, Kind, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE};
use micro::store::{self, ReadOptions, Store};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn memory() -> Arc<dyn Store> {
    Arc::new(store::Memory::new(store::Options::default()))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn open() -> (Auth, Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = memory();
    let auth = Auth::open(store.clone(), dir.path()).await.unwrap();
    (auth, store, dir)
}

/// Signs `claims` with the real private key, as a leaked key or a forger with it would.
fn sign_with_real_key(dir: &Path, claims: &Claims) -> String {
    let pem = std::fs::read(dir.join(PRIVATE_KEY_FILE)).unwrap();
    let key = EncodingKey::from_rsa_pem(&pem).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).unwrap()
}

fn claims_for(sub: &str, scopes: &[&str], jti: &str) -> Claims {
    let now = now();
    Claims {
        sub: sub.into(),
        kind: "admin".into(),
        scopes: strings(scopes),
        exp: now + 3600,
        iat: now,
        nbf: now,
        jti: jti.into(),
    }
}

async fn refused(auth: &Auth, token: &str, why: &str) {
    let err = auth.verify(token).await.expect_err("forged token accepted");
    assert_eq!(err.code, 401, "{err:?}");
    assert!(
        err.detail.contains(why),
        "detail {:?} should say {why:?}",
        err.detail
    );
}

#[tokio::test]
async fn first_start_creates_the_default_admin_with_a_bcrypt_hash() {
    let (auth, store, _dir) = open().await;
    let token = auth.login("admin", "micro").await.unwrap();
    let claims = auth.verify(&token.token).await.unwrap();
    assert_eq!(claims.sub, "admin");
    assert_eq!(claims.kind, "admin");
    assert_eq!(claims.scopes, strings(&["*"]));
    let lifetime = claims.exp - claims.iat;
    assert_eq!(lifetime, DEFAULT_TTL.as_secs());
    assert!(auth.default_password_unchanged().await.unwrap());

    let record = &store
        .read("auth/admin", &ReadOptions::default())
        .await
        .unwrap()[0];
    let json: serde_json::Value = serde_json::from_slice(&record.value).unwrap();
    assert_eq!(json["id"], "admin");
    assert_eq!(json["type"], "admin");
    let hash = json["metadata"]["password_hash"].as_str().unwrap();
    assert!(hash.starts_with("$2"), "not a bcrypt hash: {hash}");
    assert!(bcrypt::verify("micro", hash).unwrap());
    assert!(!String::from_utf8_lossy(&record.value).contains("\"micro\""));
}

#[tokio::test]
async fn changing_the_password_ends_the_default_password_warning() {
    let (auth, _store, _dir) = open().await;
    // Asked twice (the second answer is the kept one), then after the change: a new hash,
    // checked again.
    assert!(auth.default_password_unchanged().await.unwrap());
    assert!(auth.default_password_unchanged().await.unwrap());
    auth.change_password("admin", "s3cret-enough")
        .await
        .unwrap();
    assert!(!auth.default_password_unchanged().await.unwrap());
    assert!(!auth.default_password_unchanged().await.unwrap());
    let err = auth.login("admin", "micro").await.unwrap_err();
    assert_eq!(err.code, 401);
    auth.login("admin", "s3cret-enough").await.unwrap();
}

#[tokio::test]
async fn accounts_are_created_listed_and_refused_when_taken_or_wrong() {
    let (auth, _store, _dir) = open().await;
    let alice = auth
        .create_account(
            "alice",
            Kind::User,
            Some("pw-alice"),
            &strings(&["greeter"]),
        )
        .await
        .unwrap();
    assert_eq!(alice.scopes, strings(&["greeter"]));
    let taken = auth
        .create_account("alice", Kind::User, Some("x"), &[])
        .await
        .unwrap_err();
    assert_eq!(taken.code, 409);
    let no_password = auth
        .create_account("bob", Kind::User, None, &[])
        .await
        .unwrap_err();
    assert_eq!(no_password.code, 400);
    let bad_id = auth
        .create_account("../x", Kind::User, Some("x"), &[])
        .await
        .unwrap_err();
    assert_eq!(bad_id.code, 400);
    auth.create_account("ci", Kind::Service, None, &strings(&["deploy"]))
        .await
        .unwrap();

    let ids: Vec<String> = auth
        .list_accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, strings(&["admin", "alice", "ci"]));

    assert_eq!(auth.login("alice", "wrong").await.unwrap_err().code, 401);
    assert_eq!(auth.login("nobody", "x").await.unwrap_err().code, 401);
    assert_eq!(auth.login("ci", "").await.unwrap_err().code, 401);
    let token = auth.login("alice", "pw-alice").await.unwrap();
    let claims = auth.verify(&token.token).await.unwrap();
    assert_eq!(
        (claims.kind.as_str(), claims.scopes),
        ("user", strings(&["greeter"]))
    );
}

#[tokio::test]
async fn deleted_admin_is_not_recreated_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = memory();
    let auth = Auth::open(store.clone(), dir.path()).await.unwrap();
    auth.delete_account("admin").await.unwrap();
    drop(auth);

    let again = Auth::open(store.clone(), dir.path()).await.unwrap();
    assert_eq!(again.account("admin").await.unwrap_err().code, 404);
    assert!(again.list_accounts().await.unwrap().is_empty());
    assert!(!again.default_password_unchanged().await.unwrap());
    let marker = store
        .read("auth/.admin-deleted", &ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(marker.len(), 1);
}

#[tokio::test]
async fn keys_are_kept_private_and_reused_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let store = memory();
    let first = Auth::open(store.clone(), dir.path()).await.unwrap();
    let token = first.login("admin", "micro").await.unwrap();
    let private = std::fs::read(dir.path().join(PRIVATE_KEY_FILE)).unwrap();
    let public = std::fs::read(dir.path().join(PUBLIC_KEY_FILE)).unwrap();
    drop(first);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(PRIVATE_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let second = Auth::open(store, dir.path()).await.unwrap();
    assert_eq!(second.verify(&token.token).await.unwrap().sub, "admin");
    assert_eq!(
        std::fs::read(dir.path().join(PRIVATE_KEY_FILE)).unwrap(),
        private
    );
    assert_eq!(
        std::fs::read(dir.path().join(PUBLIC_KEY_FILE)).unwrap(),
        public
    );
}

#[tokio::test]
async fn forged_and_stale_tokens_are_refused_with_401() {
    let (auth, _store, dir) = open().await;
    let real = auth.login("admin", "micro").await.unwrap();
    let claims = auth.verify(&real.token).await.unwrap();

    // alg none: no signature at all.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    refused(&auth, &format!("{header}.{payload}."), "malformed").await;

    // HS256 keyed with the public key PEM (the classic algorithm confusion).
    let public = std::fs::read(dir.path().join(PUBLIC_KEY_FILE)).unwrap();
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&public),
    )
    .unwrap();
    refused(&auth, &hs, "RS256").await;

    // Tampered payload: more scopes, same signature.
    let mut parts: Vec<String> = real.token.split('.').map(String::from).collect();
    let mut wider = claims.clone();
    wider.sub = "root".into();
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wider).unwrap());
    refused(&auth, &parts.join("."), "signature").await;

    // Well signed but expired, or not valid yet.
    let mut expired = claims.clone();
    expired.exp = now() - 3600;
    expired.iat = now() - 7200;
    refused(&auth, &sign_with_real_key(dir.path(), &expired), "expired").await;
    let mut early = claims.clone();
    early.nbf = now() + 3600;
    refused(
        &auth,
        &sign_with_real_key(dir.path(), &early),
        "not valid yet",
    )
    .await;

    // Well signed, in date, but never issued (no live record): treated as revoked.
    let unknown = claims_for("admin", &["*"], "never-issued");
    refused(&auth, &sign_with_real_key(dir.path(), &unknown), "revoked").await;

    // Garbage.
    refused(&auth, "not-a-jwt", "malformed").await;
    refused(&auth, "", "malformed").await;
}

#[tokio::test]
async fn revoked_tokens_and_tokens_of_deleted_accounts_are_refused() {
    let (auth, _store, dir) = open().await;
    auth.create_account("bob", Kind::User, Some("pw-bob"), &strings(&["greeter"]))
        .await
        .unwrap();
    let one = auth.login("bob", "pw-bob").await.unwrap();
    let two = auth
        .issue("bob", &strings(&["other"]), Duration::from_secs(600))
        .await
        .unwrap();
    let admin = auth.login("admin", "micro").await.unwrap();

    let listed = auth.list_tokens(Some("bob")).await.unwrap();
    let mut ids: Vec<&str> = listed.iter().map(|t| t.id.as_str()).collect();
    ids.sort();
    let mut want = vec![one.id.as_str(), two.id.as_str()];
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(auth.list_tokens(None).await.unwrap().len(), 3);

    auth.revoke(&one.id).await.unwrap();
    refused(&auth, &one.token, "revoked").await;
    auth.verify(&two.token).await.unwrap();

    // A token signed for bob, with a live jti of bob's, stops working with the account.
    let forged_live = claims_for("bob", &["greeter"], &two.id);
    let forged_live = sign_with_real_key(dir.path(), &forged_live);
    auth.verify(&forged_live).await.unwrap();
    auth.delete_account("bob").await.unwrap();
    refused(&auth, &two.token, "revoked").await;
    assert!(auth.list_tokens(Some("bob")).await.unwrap().is_empty());

    // A still-live jti pointing at a deleted account is refused too.
    let stray = claims_for("ghost", &["*"], &admin.id);
    refused(
        &auth,
        &sign_with_real_key(dir.path(), &stray),
        "no longer exists",
    )
    .await;
    auth.verify(&admin.token).await.unwrap();
    assert_eq!(
        auth.issue("ghost", &[], DEFAULT_TTL)
            .await
            .unwrap_err()
            .code,
        404
    );
}

#[tokio::test]
async fn scopes_decide_which_tokens_may_call_an_endpoint() {
    let (auth, store, _dir) = open().await;
    let claims = |scopes: &[&str]| claims_for("x", scopes, "j");

    let unmet = async |scopes: &[&str]| {
        auth.unmet_scopes(&claims(scopes), "greeter", "Say.Hello", &[])
            .await
            .unwrap()
    };
    // No scopes set: any valid token.
    assert_eq!(unmet(&[]).await, None);

    auth.set_scopes("greeter", "Say.Hello", &strings(&["a", " b "]))
        .await
        .unwrap();
    assert_eq!(
        auth.scopes_for("greeter", "Say.Hello").await.unwrap(),
        strings(&["a", "b"])
    );
    let stored = store
        .read("endpoint-scopes/greeter.Say.Hello", &ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(&stored[0].value[..], br#"["a","b"]"#);

    assert_eq!(unmet(&["b"]).await, None);
    assert_eq!(unmet(&["*"]).await, None);
    assert_eq!(unmet(&["c"]).await, Some(strings(&["a", "b"])));
    assert_eq!(unmet(&[]).await, Some(strings(&["a", "b"])));

    // Clearing opens it again.
    auth.set_scopes("greeter", "Say.Hello", &[]).await.unwrap();
    assert!(
        auth.scopes_for("greeter", "Say.Hello")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(unmet(&[]).await, None);
}

#[tokio::test]
async fn scopes_are_set_in_bulk_by_pattern() {
    let (auth, _store, _dir) = open().await;
    let endpoints = strings(&[
        "greeter.Say.Hello",
        "greeter.Say.Bye",
        "greeter2.Say.Hello",
        "users.Users.Create",
    ]);
    let matched = auth
        .set_scopes_matching("greeter.*", &endpoints, &strings(&["greet"]))
        .await
        .unwrap();
    assert_eq!(matched, 2);
    let matched = auth
        .set_scopes_matching("*.Create", &endpoints, &strings(&["admin"]))
        .await
        .unwrap();
    assert_eq!(matched, 1);
    let listed = auth.list_scopes().await.unwrap();
    assert_eq!(
        listed,
        vec![
            ("greeter.Say.Bye".to_string(), strings(&["greet"])),
            ("greeter.Say.Hello".to_string(), strings(&["greet"])),
            ("users.Users.Create".to_string(), strings(&["admin"])),
        ]
    );
    assert!(
        auth.scopes_for("greeter2", "Say.Hello")
            .await
            .unwrap()
            .is_empty()
    );
}

#[test]
fn patterns_match_with_stars_anywhere() {
    use micro::auth::pattern_matches;
    assert!(pattern_matches("greeter.*", "greeter.Say.Hello"));
    assert!(!pattern_matches("greeter.*", "greeter2.Say.Hello"));
    assert!(pattern_matches("*", "anything"));
    assert!(pattern_matches("*.Say.*", "greeter.Say.Hello"));
    assert!(pattern_matches("greeter.Say.Hello", "greeter.Say.Hello"));
    assert!(!pattern_matches("greeter.Say.Hello", "greeter.Say.Bye"));
    assert!(!pattern_matches("a*a", "a"));
}

#[tokio::test]
async fn a_lost_public_key_is_rebuilt_from_the_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = memory();
    let first = Auth::open(store.clone(), dir.path()).await.unwrap();
    let token = first.login("admin", "micro").await.unwrap();
    drop(first);
    let private = std::fs::read(dir.path().join(PRIVATE_KEY_FILE)).unwrap();
    std::fs::remove_file(dir.path().join(PUBLIC_KEY_FILE)).unwrap();

    let second = Auth::open(store, dir.path()).await.unwrap();
    assert_eq!(
        std::fs::read(dir.path().join(PRIVATE_KEY_FILE)).unwrap(),
        private
    );
    assert_eq!(second.verify(&token.token).await.unwrap().sub, "admin");
}

#[tokio::test]
async fn a_key_file_that_is_not_a_key_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(PRIVATE_KEY_FILE), "not a key").unwrap();
    std::fs::write(dir.path().join(PUBLIC_KEY_FILE), "not a key").unwrap();
    let err = match Auth::open(memory(), dir.path()).await {
        Ok(_) => panic!("opened with garbage keys"),
        Err(e) => e,
    };
    assert_eq!(err.code, 500);
    assert!(err.detail.contains(PRIVATE_KEY_FILE), "{}", err.detail);
    assert!(
        err.detail.contains("remove the keys directory"),
        "{}",
        err.detail
    );
}

#[test]
fn micro_admin_and_star_pass_every_scope_check_alike() {
    use micro::auth::{ADMIN_SCOPE, has_scopes, is_admin};
    let orders = strings(&["orders:read"]);
    for admin in [strings(&["*"]), strings(&[ADMIN_SCOPE])] {
        assert!(has_scopes(&admin, &orders), "{admin:?}");
        assert!(has_scopes(&admin, &strings(&[ADMIN_SCOPE])), "{admin:?}");
        assert!(is_admin(&claims_for("x", &[admin[0].as_str()], "j")));
    }
    assert!(!has_scopes(
        &strings(&["orders:read"]),
        &strings(&[ADMIN_SCOPE])
    ));
    assert!(!is_admin(&claims_for("x", &["orders:read", "admin"], "j")));
    assert!(!is_admin(&claims_for("x", &[], "j")));
}

#[test]
fn a_wildcard_in_a_held_scope_grants_the_scopes_it_matches() {
    use micro::auth::has_scopes;
    let agent = strings(&["orders:*", "users:*", "billing:*"]);
    let grants = |required: &[&str]| has_scopes(&agent, &strings(required));
    assert!(grants(&["orders:read"]));
    assert!(grants(&["orders:items:write"]));
    assert!(grants(&["inventory:read", "billing:refund"]));
    assert!(!grants(&["inventory:read"]));
    assert!(!grants(&["orders"]));
    assert!(!grants(&["ordersx:read"]));
    assert!(!grants(&["micro:admin"]));
    // A star in the middle or in front stands for any run of characters too.
    assert!(has_scopes(
        &strings(&["*:read"]),
        &strings(&["orders:read"])
    ));
    assert!(!has_scopes(
        &strings(&["*:read"]),
        &strings(&["orders:write"])
    ));
    // Required scopes are plain text: holding one scope does not grant a wildcard requirement.
    assert!(!has_scopes(
        &strings(&["orders:read"]),
        &strings(&["orders:*"])
    ));
    assert!(has_scopes(&strings(&["orders:*"]), &strings(&["orders:*"])));
}

#[tokio::test]
async fn a_token_holding_orders_star_may_call_an_endpoint_requiring_orders_read() {
    let (auth, _store, _dir) = open().await;
    let agent = claims_for("agent", &["orders:*", "users:*"], "j");
    // Required by what the endpoint published in the registry...
    let published = strings(&["orders:read"]);
    assert_eq!(
        auth.unmet_scopes(&agent, "orders", "Orders.List", &published)
            .await
            .unwrap(),
        None
    );
    // ...and by what an administrator stored for it.
    auth.set_scopes("orders", "Orders.List", &strings(&["billing:read"]))
        .await
        .unwrap();
    assert_eq!(
        auth.unmet_scopes(&agent, "orders", "Orders.List", &published)
            .await
            .unwrap(),
        Some(strings(&["billing:read"]))
    );
    auth.set_scopes("orders", "Orders.List", &strings(&["users:read"]))
        .await
        .unwrap();
    assert_eq!(
        auth.unmet_scopes(&agent, "orders", "Orders.List", &published)
            .await
            .unwrap(),
        None
    );
}

/// The plain reading of a `*` pattern, one character at a time, to check the real one against.
fn reference_match(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => (0..=text.len()).any(|skip| reference_match(rest, &text[skip..])),
        Some((c, rest)) => text.first() == Some(c) && reference_match(rest, &text[1..]),
    }
}

/// Every string of up to `max` characters drawn from `alphabet`.
fn all_strings(alphabet: &[char], max: usize) -> Vec<String> {
    let mut all = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..max {
        last = last
            .iter()
            .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
            .collect();
        all.extend(last.iter().cloned());
    }
    all
}

#[test]
fn patterns_match_multi_byte_text_like_the_plain_reading_and_never_panic() {
    use micro::auth::pattern_matches;
    // The case that panicked: the text's end cut inside `é` while looking for the last part.
    assert!(!pattern_matches("a*b", "aé"));
    assert!(!pattern_matches("*x", "é"));
    assert!(!pattern_matches("é*é", "é"));
    let patterns = all_strings(&['a', 'é', '日', '*'], 4);
    let texts = all_strings(&['a', 'é', '日'], 4);
    for pattern in &patterns {
        let p: Vec<char> = pattern.chars().collect();
        for text in &texts {
            let t: Vec<char> = text.chars().collect();
            assert_eq!(
                pattern_matches(pattern, text),
                reference_match(&p, &t),
                "pattern {pattern:?} text {text:?}"
            );
        }
    }
}

#[tokio::test]
async fn changing_a_password_revokes_every_token_of_that_account() {
    let (auth, _store, _dir) = open().await;
    auth.create_account("bob", Kind::User, Some("pw-bob"), &[])
        .await
        .unwrap();
    let browser = auth.login("bob", "pw-bob").await.unwrap();
    let script = auth
        .issue("bob", &strings(&["deploy"]), Duration::from_secs(600))
        .await
        .unwrap();
    let admin = auth.login("admin", "micro").await.unwrap();

    auth.change_password("bob", "pw-bob-2").await.unwrap();
    refused(&auth, &browser.token, "revoked").await;
    refused(&auth, &script.token, "revoked").await;
    assert!(auth.list_tokens(Some("bob")).await.unwrap().is_empty());
    // Other accounts keep their sessions.
    auth.verify(&admin.token).await.unwrap();
    let fresh = auth.login("bob", "pw-bob-2").await.unwrap();
    auth.verify(&fresh.token).await.unwrap();
}

#[tokio::test]
async fn a_logged_out_token_fails_verify_and_other_sessions_live_on() {
    let (auth, _store, _dir) = open().await;
    let laptop = auth.login("admin", "micro").await.unwrap();
    let phone = auth.login("admin", "micro").await.unwrap();
    // Logging out: the token the request carries gives its own id to revoke.
    let claims = auth.verify(&laptop.token).await.unwrap();
    auth.revoke(&claims.jti).await.unwrap();
    refused(&auth, &laptop.token, "revoked").await;
    auth.verify(&phone.token).await.unwrap();
}

#[tokio::test]
async fn users_change_their_own_password_only_by_giving_the_old_one() {
    use micro::auth::{LOGIN_ATTEMPTS, Refusal};
    let (auth, _store, _dir) = open().await;
    let peer = "192.0.2.10".parse().unwrap();
    auth.create_account("bob", Kind::User, Some("pw-bob"), &strings(&["greeter"]))
        .await
        .unwrap();
    let stolen = auth.login("bob", "pw-bob").await.unwrap();

    // A stolen session alone cannot change the password: the old one is wrong, nothing changes.
    let Refusal { error, .. } = auth
        .change_own_password(peer, "bob", "guess", "pw-thief")
        .await
        .unwrap_err();
    assert_eq!(error.code, 403, "{error:?}");
    assert!(error.detail.contains("current password"), "{error:?}");
    auth.verify(&stolen.token).await.unwrap();
    assert_eq!(auth.login("bob", "pw-thief").await.unwrap_err().code, 401);

    // With the old one: every old session ends, the caller gets a new one.
    let session = auth
        .change_own_password(peer, "bob", "pw-bob", "pw-bob-2")
        .await
        .unwrap();
    refused(&auth, &stolen.token, "revoked").await;
    let claims = auth.verify(&session.token).await.unwrap();
    assert_eq!(
        (claims.sub.as_str(), claims.scopes),
        ("bob", strings(&["greeter"]))
    );
    assert_eq!(auth.login("bob", "pw-bob").await.unwrap_err().code, 401);
    auth.login("bob", "pw-bob-2").await.unwrap();

    // Guessing the old password is limited like logging in: one wrong guess was counted above.
    for _ in 1..LOGIN_ATTEMPTS {
        let refusal = auth
            .change_own_password(peer, "bob", "guess", "x")
            .await
            .unwrap_err();
        assert_eq!(refusal.error.code, 403);
    }
    let limited = auth
        .change_own_password(peer, "bob", "pw-bob-2", "pw-bob-3")
        .await
        .unwrap_err();
    assert_eq!(limited.error.code, 429, "{limited:?}");
    assert!(limited.retry_after.is_some());
}

#[tokio::test]
async fn a_success_from_an_address_does_not_forgive_its_failures_on_other_accounts() {
    use micro::auth::LOGIN_ATTEMPTS;
    let (auth, _store, _dir) = open().await;
    let attacker = "198.51.100.7".parse().unwrap();
    auth.create_account("mallory", Kind::User, Some("pw-mallory"), &[])
        .await
        .unwrap();
    for _ in 1..LOGIN_ATTEMPTS {
        let refusal = auth
            .login_from(attacker, "admin", "guess")
            .await
            .unwrap_err();
        assert_eq!(refusal.error.code, 401);
        assert_eq!(refusal.retry_after, None);
    }
    // The attacker's own account logs in fine, but wipes nothing.
    auth.login_from(attacker, "mallory", "pw-mallory")
        .await
        .unwrap();
    assert_eq!(
        auth.login_from(attacker, "admin", "guess")
            .await
            .unwrap_err()
            .error
            .code,
        401
    );
    // The limit is reached: even the right password waits now, with the wait given.
    let refusal = auth
        .login_from(attacker, "admin", "micro")
        .await
        .unwrap_err();
    assert_eq!(
        (refusal.error.code, refusal.error.status.as_str()),
        (429, "Too Many Requests")
    );
    let secs = micro::http::whole_secs(refusal.retry_after.unwrap());
    assert!((1..=300).contains(&secs), "{secs}");
    assert!(
        refusal.error.detail.contains(&format!("{secs} seconds")),
        "{refusal:?}"
    );
    // Another address is not held back.
    auth.login_from("198.51.100.8".parse().unwrap(), "admin", "micro")
        .await
        .unwrap();
}

#[tokio::test]
async fn unknown_accounts_count_against_an_address_like_real_ones() {
    use micro::auth::LOGIN_ATTEMPTS;
    let (auth, _store, _dir) = open().await;
    let peer = "203.0.113.5".parse().unwrap();
    for i in 0..LOGIN_ATTEMPTS {
        let id = if i % 2 == 0 { "nobody" } else { "../bad id" };
        let refusal = auth.login_from(peer, id, "guess").await.unwrap_err();
        assert_eq!(refusal.error.code, 401);
        assert_eq!(refusal.error.detail, "wrong account id or password");
    }
    let refusal = auth.login_from(peer, "admin", "micro").await.unwrap_err();
    assert_eq!(refusal.error.code, 429);
}
