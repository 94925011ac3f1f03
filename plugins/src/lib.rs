//! gantry's plugin host: loads `wasm32-wasip1` modules and runs them in a sandbox whose
//! every limit (memory, deadline, output, filesystem and environment grants) is an
//! explicit value.
