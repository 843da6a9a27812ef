{
  "targets": [
    {
      "target_name": "shardgate_native",
      "sources": [
        "src/binding.c",
        "src/cpu.c",
        "src/crc.c",
        "src/crc_fold.c",
        "src/crypto.c",
        "src/gcm.c",
        "src/gcm_fast.c",
        "src/isal_bench.c",
        "src/md5_lanes.c",
        "src/rs.c",
        "src/rs_matrix.c",
        "src/segment.c",
        "src/segment_decode.c",
        "src/sha256_lanes.c",
        "src/xor_kernels.c"
      ],
      # No -march: SIMD kernels carry their own target attributes and are picked at run
      # time, so one build runs on any x86-64 (and the scalar kernel anywhere else).
      "cflags": ["-std=gnu11", "-O3", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags!": ["-O2"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-ldl"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3"] }
    }
  ]
}
