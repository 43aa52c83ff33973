;; out[r] = b[r] + Σ_c W[r, c] x[c] for r < rows: float32, 128-bit SIMD, four f32x4 accumulators.
;; W (rows x cols, row-major), x, b and out are byte offsets into the exported memory; cols is a
;; multiple of 16 and every offset a multiple of 16. Assembled into the bytes in sentiment.mjs
;; (MATVEC_WASM) with wabt: `wat2wasm --enable-simd matvec.wat` (npm install wabt).
(module
  (memory (export "memory") 1)
  (func (export "matvec") (param $W i32) (param $x i32) (param $b i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $c i32) (local $w i32) (local $rowBytes i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $w (local.get $W))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $a0 (v128.const f32x4 0 0 0 0))
        (local.set $a1 (v128.const f32x4 0 0 0 0))
        (local.set $a2 (v128.const f32x4 0 0 0 0))
        (local.set $a3 (v128.const f32x4 0 0 0 0))
        (local.set $c (i32.const 0))
        (block $cols_done
          (loop $cols_loop
            (br_if $cols_done (i32.ge_u (local.get $c) (local.get $rowBytes)))
            (local.set $a0 (f32x4.add (local.get $a0)
              (f32x4.mul (v128.load (i32.add (local.get $w) (local.get $c)))
                         (v128.load (i32.add (local.get $x) (local.get $c))))))
            (local.set $a1 (f32x4.add (local.get $a1)
              (f32x4.mul (v128.load offset=16 (i32.add (local.get $w) (local.get $c)))
                         (v128.load offset=16 (i32.add (local.get $x) (local.get $c))))))
            (local.set $a2 (f32x4.add (local.get $a2)
              (f32x4.mul (v128.load offset=32 (i32.add (local.get $w) (local.get $c)))
                         (v128.load offset=32 (i32.add (local.get $x) (local.get $c))))))
            (local.set $a3 (f32x4.add (local.get $a3)
              (f32x4.mul (v128.load offset=48 (i32.add (local.get $w) (local.get $c)))
                         (v128.load offset=48 (i32.add (local.get $x) (local.get $c))))))
            (local.set $c (i32.add (local.get $c) (i32.const 64)))
            (br $cols_loop)))
        (local.set $a0 (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3))))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 2)))
          (f32.add (f32.load (i32.add (local.get $b) (i32.shl (local.get $r) (i32.const 2))))
            (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
                     (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0))))))
        (local.set $w (i32.add (local.get $w) (local.get $rowBytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows_loop)))))
