//! The per-request cost of auth: verifying a token (RS256 signature, revocation and account
//! look-ups in a memory store) and checking an endpoint's scopes. Login is bcrypt-bound on
//! purpose and is measured once for reference.

use criterion::{Criterion, criterion_group, criterion_main};
use micro::auth::Auth;
use micro::store::{Memory, Options, Store};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;

fn bench(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(Memory::new(Options::default()));
    let auth = rt.block_on(Auth::open(store, dir.path())).unwrap();
    let scoped = vec!["greet".to_string()];
    let token = rt
        .block_on(auth.issue("admin", &scoped, Duration::from_secs(3600)))
        .unwrap();
    rt.block_on(auth.set_scopes("greeter", "Say.Hello", &scoped))
        .unwrap();
    let claims = rt.block_on(auth.verify(&token.token)).unwrap();

    let mut group = c.benchmark_group("auth");
    group.bench_function("verify", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(auth.verify(&token.token).await.unwrap()) })
    });
    group.bench_function("unmet_scopes", |b| {
        b.to_async(&rt).iter(|| async {
            auth.unmet_scopes(&claims, "greeter", "Say.Hello", &[])
                .await
                .unwrap()
        })
    });
    group.sample_size(10);
    group.bench_function("login_bcrypt_cost_12", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(auth.login("admin", "micro").await.unwrap()) })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
