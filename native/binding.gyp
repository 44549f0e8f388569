{
  "targets": [
    {
      "target_name": "galmorph_dnnl",
      "sources": ["galmorph_dnnl.cc"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fopenmp"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
