//! `tls-handshake`: what a full TLS 1.3 handshake costs the client, per
//! rustls crypto provider, in CPU time.
//!
//! In-memory handshakes (a rustls `ClientConnection` and `ServerConnection`
//! exchanging bytes through two `Vec` buffers, no sockets, no kernel
//! networking) on one thread; the client's calls alone are timed with the
//! thread CPU clock (`CLOCK_THREAD_CPUTIME_ID`), so the server's work and
//! whatever else the machine runs are not counted. The client is configured
//! like `shared/http/src/transport.rs` (`builder_with_provider`, safe default
//! protocol versions, a root store, no client auth), except that session
//! resumption is off so that every handshake is a full one (a Lambda cold
//! start's first connection to the desk is).
//!
//! Variants, interleaved in blocks so drift hits them alike (client and
//! server use the same provider and group order):
//!   aws-lc-rs/default   aws-lc-rs's DEFAULT_KX_GROUPS as this project builds
//!                       rustls (no `prefer-post-quantum` feature): X25519
//!                       first, X25519MLKEM768 offered last, without a key
//!                       share, so X25519 is what gets negotiated
//!   aws-lc-rs/pq-first  X25519MLKEM768 first (what rustls's default
//!                       `prefer-post-quantum` feature gives), against a
//!                       server that prefers it too
//!   aws-lc-rs/x25519    aws-lc-rs restricted to X25519
//!   ring/x25519         ring (X25519 is its first group)
//! each against servers whose certificate is an ECDSA P-256 leaf (the
//! leaf itself is the client's one trust anchor), an RSA-2048 leaf (same),
//! and a P-256 leaf + intermediate under a P-256 root (the client holds the
//! root: two certificate signatures to verify, like a real desk's chain).
//!
//! Usage: tls-handshake [N per variant (default 2000)] [block (default 100)]
//! Prints one JSON object on stdout.

use std::io::{Read, Write};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

const HOST: &str = "desk.example.com";

/// A variant's name, its group order as reported, and how to make its provider.
type Provider = (&'static str, &'static str, Box<dyn Fn() -> CryptoProvider>);

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out-pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A server identity: the chain it sends, its key, and the client's anchor.
struct Identity {
    name: &'static str,
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
    anchor: CertificateDer<'static>,
}

fn leaf_params() -> CertificateParams {
    CertificateParams::new(vec![HOST.to_owned()]).expect("params")
}

fn self_signed(name: &'static str, alg: &'static rcgen::SignatureAlgorithm) -> Identity {
    let key = KeyPair::generate_for(alg).expect("key");
    let cert = leaf_params().self_signed(&key).expect("cert");
    let der = cert.der().clone();
    Identity {
        name,
        chain: vec![der.clone()],
        key: key.serialize_der(),
        anchor: der,
    }
}

fn p256_chain() -> Identity {
    let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
    let ca = |cn: &str| {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        p
    };
    let root = CertifiedIssuer::self_signed(ca("Bench Root"), KeyPair::generate_for(alg).unwrap())
        .expect("root");
    let inter = CertifiedIssuer::signed_by(
        ca("Bench Intermediate"),
        KeyPair::generate_for(alg).unwrap(),
        &root,
    )
    .expect("intermediate");
    let leaf_key = KeyPair::generate_for(alg).unwrap();
    let leaf = leaf_params().signed_by(&leaf_key, &inter).expect("leaf");
    Identity {
        name: "ecdsa-p256-chain",
        chain: vec![leaf.der().clone(), inter.der().clone()],
        key: leaf_key.serialize_der(),
        anchor: root.der().clone(),
    }
}

struct Variant {
    name: String,
    group: &'static str,
    identity: usize,
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    client_ns: Vec<u64>,
    pair_ns: Vec<u64>,
    negotiated: Option<String>,
}

fn configs(provider: CryptoProvider, id: &Identity) -> (Arc<ClientConfig>, Arc<ServerConfig>) {
    let provider = Arc::new(provider);
    let mut roots = RootCertStore::empty();
    roots.add(id.anchor.clone()).expect("anchor");
    // As shared/http/src/transport.rs builds it.
    let mut client = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Every handshake a full one.
    client.resumption = rustls::client::Resumption::disabled();
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            id.chain.clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key.clone())),
        )
        .expect("server cert");
    (Arc::new(client), Arc::new(server))
}

/// Moves what `from` wants to send into `to`; returns the bytes moved.
/// Everything `conn` has to send, written into `buf` (emptied first); how
/// many bytes that was.
fn drain<D>(conn: &mut rustls::ConnectionCommon<D>, buf: &mut Vec<u8>) -> usize {
    buf.clear();
    while conn.wants_write() {
        conn.write_tls(buf as &mut dyn Write).unwrap();
    }
    buf.len()
}

/// Hands `bytes` from the peer to `conn` and processes them.
fn feed<D>(conn: &mut rustls::ConnectionCommon<D>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        conn.read_tls(&mut bytes as &mut dyn Read).unwrap();
        conn.process_new_packets().expect("TLS records");
    }
}

/// One full handshake; returns (client CPU ns, client+server CPU ns).
fn handshake(v: &mut Variant) -> (u64, u64) {
    let mut c2s: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut s2c: Vec<u8> = Vec::with_capacity(16 * 1024);
    let pair_start = thread_cpu_ns();
    let mut client_ns = 0u64;

    let t = thread_cpu_ns();
    let mut client =
        ClientConnection::new(v.client.clone(), ServerName::try_from(HOST).unwrap()).unwrap();
    client_ns += thread_cpu_ns() - t;
    let mut server = ServerConnection::new(v.server.clone()).unwrap();

    for _round in 0..10 {
        // client -> server
        let t = thread_cpu_ns();
        let n = drain(&mut client, &mut c2s);
        client_ns += thread_cpu_ns() - t;
        feed(&mut server, &c2s);
        // server -> client
        let m = drain(&mut server, &mut s2c);
        if m > 0 {
            let t = thread_cpu_ns();
            feed(&mut client, &s2c);
            client_ns += thread_cpu_ns() - t;
        }
        if n == 0 && m == 0 && !client.is_handshaking() && !server.is_handshaking() {
            break;
        }
    }
    assert!(
        !client.is_handshaking() && !server.is_handshaking(),
        "handshake did not finish"
    );
    assert_eq!(
        client.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    let group = client
        .negotiated_key_exchange_group()
        .map(|g| format!("{:?}", g.name()))
        .unwrap_or_default();
    match &v.negotiated {
        None => v.negotiated = Some(group),
        Some(g) => assert_eq!(*g, group),
    }
    (client_ns, thread_cpu_ns() - pair_start)
}

fn stats(ns: &[u64]) -> (f64, f64, f64, f64) {
    let mut s = ns.to_vec();
    s.sort_unstable();
    let q = |p: f64| s[((s.len() - 1) as f64 * p).round() as usize] as f64 / 1e3;
    let mean = s.iter().sum::<u64>() as f64 / s.len() as f64 / 1e3;
    (q(0.5), mean, q(0.1), q(0.9))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().map(|a| a.parse().expect("N")).unwrap_or(2000);
    let block: usize = args
        .get(1)
        .map(|a| a.parse().expect("block"))
        .unwrap_or(100);

    let identities = [
        self_signed("ecdsa-p256", &rcgen::PKCS_ECDSA_P256_SHA256),
        self_signed("rsa-2048", &rcgen::PKCS_RSA_SHA256),
        p256_chain(),
    ];

    let awslc_x25519 = || {
        let mut p = rustls::crypto::aws_lc_rs::default_provider();
        p.kx_groups = vec![rustls::crypto::aws_lc_rs::kx_group::X25519];
        p
    };
    let awslc_pq_first = || {
        use rustls::crypto::aws_lc_rs::kx_group;
        let mut p = rustls::crypto::aws_lc_rs::default_provider();
        p.kx_groups = vec![
            kx_group::X25519MLKEM768,
            kx_group::X25519,
            kx_group::SECP256R1,
            kx_group::SECP384R1,
        ];
        p
    };
    let providers: Vec<Provider> = vec![
        (
            "aws-lc-rs/default",
            "default",
            Box::new(rustls::crypto::aws_lc_rs::default_provider),
        ),
        (
            "aws-lc-rs/pq-first",
            "X25519MLKEM768,X25519,P-256,P-384",
            Box::new(awslc_pq_first),
        ),
        ("aws-lc-rs/x25519", "X25519", Box::new(awslc_x25519)),
        (
            "ring/x25519",
            "default",
            Box::new(rustls::crypto::ring::default_provider),
        ),
    ];

    let mut variants = Vec::new();
    for (i, id) in identities.iter().enumerate() {
        for (pname, group, make) in &providers {
            let (client, server) = configs(make(), id);
            variants.push(Variant {
                name: format!("{pname} {}", id.name),
                group,
                identity: i,
                client,
                server,
                client_ns: Vec::with_capacity(n),
                pair_ns: Vec::with_capacity(n),
                negotiated: None,
            });
        }
    }

    // Clock cost: two reads back to back (each client step pays one pair).
    let mut clk = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let a = thread_cpu_ns();
        clk.push(thread_cpu_ns() - a);
    }
    let clock_pair_ns = stats(&clk).0 * 1e3;

    // One ECDSA P-256 signature verification (what the client does once per
    // certificate signature and once for CertificateVerify), per provider.
    let verify = {
        use rustls::pki_types::SignatureVerificationAlgorithm;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let msg = b"tls13 CertificateVerify stand-in".repeat(4);
        let sig = rcgen::SigningKey::sign(&key, &msg).unwrap();
        let pk = rcgen::PublicKeyData::der_bytes(&key).to_vec();
        let algs: [(&str, &dyn SignatureVerificationAlgorithm); 2] = [
            (
                "aws-lc-rs",
                rustls::crypto::aws_lc_rs::default_provider()
                    .signature_verification_algorithms
                    .mapping
                    .iter()
                    .find(|(s, _)| *s == rustls::SignatureScheme::ECDSA_NISTP256_SHA256)
                    .unwrap()
                    .1[0],
            ),
            (
                "ring",
                rustls::crypto::ring::default_provider()
                    .signature_verification_algorithms
                    .mapping
                    .iter()
                    .find(|(s, _)| *s == rustls::SignatureScheme::ECDSA_NISTP256_SHA256)
                    .unwrap()
                    .1[0],
            ),
        ];
        let mut res = Vec::new();
        for (name, alg) in algs {
            alg.verify_signature(&pk, &msg, &sig).expect("verify");
            let reps = 2000;
            let t = thread_cpu_ns();
            for _ in 0..reps {
                alg.verify_signature(&pk, &msg, &sig).unwrap();
            }
            res.push(format!(
                "\"{name}\": {:.1}",
                (thread_cpu_ns() - t) as f64 / reps as f64 / 1e3
            ));
        }
        res.join(", ")
    };

    // Warm-up: page in code and tables, settle allocator.
    for v in variants.iter_mut() {
        for _ in 0..50 {
            handshake(v);
        }
    }
    let mut done = 0;
    while done < n {
        let b = block.min(n - done);
        for v in variants.iter_mut() {
            for _ in 0..b {
                let (c, p) = handshake(v);
                v.client_ns.push(c);
                v.pair_ns.push(p);
            }
        }
        done += b;
    }

    let mut out = String::from("{\n");
    out += &format!(
        "  \"n_per_variant\": {n},\n  \"block\": {block},\n  \"clock_read_pair_ns\": {clock_pair_ns:.0},\n  \"rustls\": \"0.23 (see Cargo.lock)\",\n  \"resumption\": \"disabled (full handshakes)\",\n  \"ecdsa_p256_verify_cpu_us\": {{{verify}}},\n  \"variants\": [\n"
    );
    for (i, v) in variants.iter().enumerate() {
        let (p50, mean, p10, p90) = stats(&v.client_ns);
        let (pp50, pmean, _, _) = stats(&v.pair_ns);
        out += &format!(
            "    {{\"variant\": \"{}\", \"cert\": \"{}\", \"groups\": \"{}\", \"negotiated\": \"{}\", \
             \"client_cpu_us_p50\": {p50:.1}, \"client_cpu_us_mean\": {mean:.1}, \
             \"client_cpu_us_p10\": {p10:.1}, \"client_cpu_us_p90\": {p90:.1}, \
             \"client_plus_server_cpu_us_p50\": {pp50:.1}, \"client_plus_server_cpu_us_mean\": {pmean:.1}}}{}\n",
            v.name,
            identities[v.identity].name,
            v.group,
            v.negotiated.as_deref().unwrap_or(""),
            if i + 1 < variants.len() { "," } else { "" }
        );
    }
    out += "  ]\n}";
    println!("{out}");
}
