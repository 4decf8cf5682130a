//! The build links a libzmq with CURVE: a build that silently fell back to a libzmq without
//! it (upstream zmq-sys does) fails here, before any deployment runs in clear.

#[test]
fn libzmq_has_curve() {
    assert_eq!(
        zmq::has("curve"),
        Some(true),
        "libzmq was built without CURVE"
    );
    let pair = zmq::CurveKeyPair::new().expect("a CURVE key pair");
    assert_eq!(pair.public_key.len(), 32);
}
