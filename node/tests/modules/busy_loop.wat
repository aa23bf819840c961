;; Spins in every step until the deadline interrupts it. Its input buffer
;; holds frames of the full simulated rig (up to 16 MiB).
(module
  (memory (export "memory") 256)
  (func (export "fusion_abi_version") (result i32) (i32.const 1))
  (func (export "fusion_input_buffer") (param $len i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $len) (i32.const 16711680))
      (then (i32.const 0))
      (else (i32.const 65536))))
  (func (export "fusion_init") (param $len i32) (result i32) (i32.const 0))
  (func (export "fusion_step") (param $len i32) (result i64)
    (loop $spin (br $spin))
    (i64.const 0))
  (func (export "fusion_last_error") (result i64) (i64.const 0)))
