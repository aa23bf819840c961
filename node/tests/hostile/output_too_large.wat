;; Hostile: an output larger than the limit.
;;
;; Behaves like a well-formed module on ordinary frames: `fusion_step`
;; returns "ok" and the number of steps since init (as an ASCII digit), so a
;; test can tell a fresh instance from an old one.
;; On a hostile frame it claims 64 MiB of output (the default limit is
;; 16 MiB).
(module
  (memory (export "memory") 2)
  (data (i32.const 512) "ok")
  (global $inited (mut i32) (i32.const 0))
  (global $steps (mut i32) (i32.const 0))
  (func (export "fusion_abi_version") (result i32) (i32.const 1))
  (func (export "fusion_input_buffer") (param $len i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $len) (i32.const 65536))
      (then (i32.const 0))
      (else (i32.const 65536))))
  (func (export "fusion_init") (param $len i32) (result i32)
    (global.set $steps (i32.const 0))
    (global.set $inited (i32.const 1))
    (i32.const 0))
  (func (export "fusion_step") (param $len i32) (result i64)
    (if (i32.eqz (global.get $inited)) (then (return (i64.const -3))))
    ;; A frame whose first byte is 0xFF triggers the hostile behaviour.
    (if (i32.and
          (i32.gt_u (local.get $len) (i32.const 0))
          (i32.eq (i32.load8_u (i32.const 65536)) (i32.const 0xFF)))
      (then
        (return (i64.const 0x0400000000000000))))
    (global.set $steps (i32.add (global.get $steps) (i32.const 1)))
    (i32.store8 (i32.const 514) (i32.add (i32.const 48) (global.get $steps)))
    ;; (len 3 << 32) | ptr 512
    (i64.const 0x0000000300000200))
  (func (export "fusion_last_error") (result i64) (i64.const 0)))
