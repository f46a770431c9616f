//! Nothing: this package holds jwt-session's benches, the peer benchmark server and the
//! suites that drive outside tools, apart from the examples' dependencies.
