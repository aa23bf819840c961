;; A fusion module for the pipeline tests: `fusion_step` returns the
;; frame header's sequence, trigger stamp, missing-sensor mask and flags
;; (28 bytes from offset 8 of the frame), so a test can see exactly what
;; the node told the module.
(module
  (memory (export "memory") 2)
  (global $inited (mut i32) (i32.const 0))
  (func (export "fusion_abi_version") (result i32) (i32.const 1))
  (func (export "fusion_input_buffer") (param $len i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $len) (i32.const 65536))
      (then (i32.const 0))
      (else (i32.const 65536))))
  (func (export "fusion_init") (param $len i32) (result i32)
    (global.set $inited (i32.const 1))
    (i32.const 0))
  (func (export "fusion_step") (param $len i32) (result i64)
    (if (i32.eqz (global.get $inited)) (then (return (i64.const -3))))
    (memory.copy (i32.const 512) (i32.const 65544) (i32.const 28))
    ;; (len 28 << 32) | ptr 512
    (i64.const 0x0000001c00000200))
  (func (export "fusion_last_error") (result i64) (i64.const 0)))
