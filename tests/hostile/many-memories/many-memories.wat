;; Hostile plugin "hostile-many-memories": a verifier whose instantiation
;; creates 20 linear memories.
;;
;; Rust cannot emit more than one memory, so this is a hand-written core
;; module; tests/build.rs embeds the verifier world's WIT into it, turns it
;; into a component with wit-component, validates that with wasmparser and
;; adds gyre.toml as the `gyre-manifest` custom section, like the SDK does.
;;
;; Attack 1, at instantiation: 20 memories (multi-memory proposal, on by
;; default in wasmtime). Memory 0 is what the canonical ABI uses; 1..19 are
;; never touched by the ABI: they exist only to be counted.
;; Attack 2, in `verify`: grow each of memories 1..19 by 1008 pages (63 MiB)
;; and touch every 4 KiB of the new pages, so each memory stays under a 64 MiB per-memory cap
;; (StoreLimits::memory_size is per linear memory) while the instance as a
;; whole commits about 1.2 GiB.
;;
;; Containment: the host caps the number of memories per instance (pooling
;; allocator's per-module memory limit, or StoreLimits::memories), so
;; instantiation is refused with a typed error and nothing runs; or, if it
;; allows them, it bounds the instance's total memory so most grows fail
;; (memory.grow returns -1, or traps with trap_on_grow_failure). A test
;; checks the typed outcome, that the host's memory stayed bounded, and that
;; the host then serves a normal plugin.
;;
;; Benign path: evidence named "behave" makes `verify` return a passing
;; verdict without growing anything (reachable only if instantiation is
;; allowed). The attack path returns a failing verdict whose summary says
;; how many of the 19 grows succeeded ("grew NN of 19 ...").
(module
  ;; ---- Memories ----------------------------------------------------------
  ;; Memory 0: the canonical ABI memory, exported as "memory". Arguments,
  ;; the return area and the summary strings live here.
  (memory $m0 1)
  (export "memory" (memory $m0))
  ;; Memories 1..19: one page each, no maximum, otherwise unused.
  (memory $m1 1)
  (memory $m2 1)
  (memory $m3 1)
  (memory $m4 1)
  (memory $m5 1)
  (memory $m6 1)
  (memory $m7 1)
  (memory $m8 1)
  (memory $m9 1)
  (memory $m10 1)
  (memory $m11 1)
  (memory $m12 1)
  (memory $m13 1)
  (memory $m14 1)
  (memory $m15 1)
  (memory $m16 1)
  (memory $m17 1)
  (memory $m18 1)
  (memory $m19 1)

  ;; ---- Globals -----------------------------------------------------------
  ;; Bump-allocator top in memory 0, above the static data below.
  (global $heap (mut i32) (i32.const 4096))
  ;; How far the attack grows each extra memory: 1008 pages = 63 MiB, so
  ;; 1 + 1008 pages stay under a 64 MiB per-memory cap.
  (global $pages i32 (i32.const 1008))
  ;; The end of a grown memory: (1 + 1008) * 65536.
  (global $end i32 (i32.const 66125824))

  ;; ---- Static data in memory 0 -------------------------------------------
  ;; 1024: the attack summary; the two digits at 1029/1030 are patched in.
  (data (memory $m0) (i32.const 1024) "grew 00 of 19 extra memories by 1008 pages (63 MiB) each")
  ;; 1152: the benign summary.
  (data (memory $m0) (i32.const 1152) "behaved: instantiated with 20 linear memories")
  ;; 2048..2096: the return area for result<verdict, plugin-error> (below).

  ;; ---- cabi_realloc ------------------------------------------------------
  ;; The host calls this to place the arguments (config, evidence) in
  ;; memory 0. A bump allocator that never frees: an instance serves one call.
  (func $realloc (export "cabi_realloc")
    (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32)
    (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    ;; ptr = align_up(heap, align)
    (local.set $ptr
      (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
               (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $new_size)))
    ;; Wrapped around the 4 GiB address space: give up.
    (if (i32.lt_u (local.get $end) (local.get $ptr)) (then unreachable))
    ;; Grow memory 0 by whole pages until the block fits.
    (local.set $have (i32.mul (memory.size $m0) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow $m0
                (i32.div_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535))
                           (i32.const 65536)))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    ;; A reallocation keeps the old bytes (the smaller of the two sizes).
    (if (local.get $old_size)
      (then
        (memory.copy $m0 $m0 (local.get $ptr) (local.get $old)
          (select (local.get $old_size) (local.get $new_size)
                  (i32.lt_u (local.get $old_size) (local.get $new_size))))))
    (local.get $ptr))

  ;; ---- verify ------------------------------------------------------------
  ;; gyre:plugin/verification@0.1.0#verify: func(request: verify-request)
  ;;   -> result<verdict, plugin-error>
  ;; The record verify-request { config: string, evidence: list<evidence>,
  ;; workspace: option<string> } flattens to 7 i32 parameters. The result
  ;; flattens to more than one value, so it is returned through a pointer
  ;; to a return area in memory 0.
  (func $verify (export "gyre:plugin/verification@0.1.0#verify")
    (param $config_ptr i32) (param $config_len i32)
    (param $evidence_ptr i32) (param $evidence_len i32)
    (param $workspace_is_some i32) (param $workspace_ptr i32) (param $workspace_len i32)
    (result i32)
    (local $i i32) (local $e i32) (local $grown i32) (local $a i32)
    ;; Benign path: any evidence named "behave". An evidence record is 24
    ;; bytes: name (ptr, len), content-type (ptr, len), data (ptr, len).
    (block $no_behave
      (loop $next
        (br_if $no_behave (i32.ge_u (local.get $i) (local.get $evidence_len)))
        (local.set $e (i32.add (local.get $evidence_ptr) (i32.mul (local.get $i) (i32.const 24))))
        (if (call $is_behave (i32.load (local.get $e)) (i32.load offset=4 (local.get $e)))
          (then (return (call $verdict (i32.const 1) (i32.const 1152) (i32.const 45)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))

    ;; Attack: grow each extra memory, write one byte into every 4 KiB of the
    ;; new pages (so the host really commits them, at little fuel cost), and
    ;; count the grows that worked.
    (if (i32.ne (memory.grow $m1 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch1
              (i32.store8 $m1 (local.get $a) (i32.const 0xaa))
              (br_if $touch1 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m2 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch2
              (i32.store8 $m2 (local.get $a) (i32.const 0xaa))
              (br_if $touch2 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m3 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch3
              (i32.store8 $m3 (local.get $a) (i32.const 0xaa))
              (br_if $touch3 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m4 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch4
              (i32.store8 $m4 (local.get $a) (i32.const 0xaa))
              (br_if $touch4 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m5 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch5
              (i32.store8 $m5 (local.get $a) (i32.const 0xaa))
              (br_if $touch5 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m6 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch6
              (i32.store8 $m6 (local.get $a) (i32.const 0xaa))
              (br_if $touch6 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m7 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch7
              (i32.store8 $m7 (local.get $a) (i32.const 0xaa))
              (br_if $touch7 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m8 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch8
              (i32.store8 $m8 (local.get $a) (i32.const 0xaa))
              (br_if $touch8 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m9 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch9
              (i32.store8 $m9 (local.get $a) (i32.const 0xaa))
              (br_if $touch9 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m10 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch10
              (i32.store8 $m10 (local.get $a) (i32.const 0xaa))
              (br_if $touch10 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m11 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch11
              (i32.store8 $m11 (local.get $a) (i32.const 0xaa))
              (br_if $touch11 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m12 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch12
              (i32.store8 $m12 (local.get $a) (i32.const 0xaa))
              (br_if $touch12 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m13 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch13
              (i32.store8 $m13 (local.get $a) (i32.const 0xaa))
              (br_if $touch13 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m14 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch14
              (i32.store8 $m14 (local.get $a) (i32.const 0xaa))
              (br_if $touch14 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m15 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch15
              (i32.store8 $m15 (local.get $a) (i32.const 0xaa))
              (br_if $touch15 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m16 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch16
              (i32.store8 $m16 (local.get $a) (i32.const 0xaa))
              (br_if $touch16 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m17 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch17
              (i32.store8 $m17 (local.get $a) (i32.const 0xaa))
              (br_if $touch17 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m18 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch18
              (i32.store8 $m18 (local.get $a) (i32.const 0xaa))
              (br_if $touch18 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
    (if (i32.ne (memory.grow $m19 (global.get $pages)) (i32.const -1))
      (then (local.set $a (i32.const 65536))
            (loop $touch19
              (i32.store8 $m19 (local.get $a) (i32.const 0xaa))
              (br_if $touch19 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4096))) (global.get $end))))
            (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))

    ;; Patch the count into "grew NN of 19 ...".
    (i32.store8 (i32.const 1029) (i32.add (i32.const 48) (i32.div_u (local.get $grown) (i32.const 10))))
    (i32.store8 (i32.const 1030) (i32.add (i32.const 48) (i32.rem_u (local.get $grown) (i32.const 10))))
    (call $verdict (i32.const 0) (i32.const 1024) (i32.const 56)))

  ;; Whether the `len` bytes at `ptr` (memory 0) are "behave".
  (func $is_behave (param $ptr i32) (param $len i32) (result i32)
    (if (i32.ne (local.get $len) (i32.const 6)) (then (return (i32.const 0))))
    (i32.and
      (i32.eq (i32.load (local.get $ptr)) (i32.const 0x61686562))           ;; "beha"
      (i32.eq (i32.load16_u offset=4 (local.get $ptr)) (i32.const 0x6576)))) ;; "ve"

  ;; Writes Ok(verdict { passed, score: none, summary, findings: [] }) into
  ;; the return area at 2048 and returns its address. Layout of
  ;; result<verdict, plugin-error> (alignment 8, from the f64 score):
  ;;   +0  u8  discriminant, 0 = ok
  ;;   +8  verdict: +8 passed (u8), +16 score discriminant (u8),
  ;;       +24 score (f64), +32 summary ptr, +36 summary len,
  ;;       +40 findings ptr, +44 findings len
  (func $verdict (param $passed i32) (param $summary i32) (param $len i32) (result i32)
    (i32.store8 (i32.const 2048) (i32.const 0))
    (i32.store8 (i32.const 2056) (local.get $passed))
    (i32.store8 (i32.const 2064) (i32.const 0))
    (f64.store (i32.const 2072) (f64.const 0))
    (i32.store (i32.const 2080) (local.get $summary))
    (i32.store (i32.const 2084) (local.get $len))
    (i32.store (i32.const 2088) (i32.const 0))
    (i32.store (i32.const 2092) (i32.const 0))
    (i32.const 2048))
)
