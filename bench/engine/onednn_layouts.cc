// oneDNN's f32 convolutions on resnet-small's 3x3 layer shapes (batch 32, 64 px input), one
// thread, with the activations in NHWC (what the addon reads in place on the wasm heap) vs the
// layout oneDNN picks itself (8-channel blocked on AVX2), plus what the reorders between the
// two cost. Backs the addon's choice of layouts (native/galmorph_dnnl.cc, blockedForward).
// CPU time of the process, best of 3 x 5 calls, so other jobs on a shared machine distort less.
// Prints a table and writes reports/engine-onednn-layouts.json.
//
//   g++ -O2 -std=c++17 bench/engine/onednn_layouts.cc -o /tmp/onednn_layouts -ldnnl -fopenmp
//   nice -n 15 /tmp/onednn_layouts
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "oneapi/dnnl/dnnl.hpp"

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

static double cpuMs() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main() {
  omp_set_num_threads(1);
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  struct Shape {
    int h, ci, co, k, stride;
  } shapes[] = {{64, 3, 32, 3, 2}, {32, 32, 32, 3, 1}, {32, 32, 64, 3, 2}, {16, 64, 64, 3, 1},
                {16, 64, 128, 3, 2}, {8, 128, 128, 3, 1}, {8, 128, 256, 3, 2}, {4, 256, 256, 3, 1}};
  const int n = 32;
  FILE* json = std::fopen("reports/engine-onednn-layouts.json", "w");
  if (json == nullptr) {
    std::perror("reports/engine-onednn-layouts.json");
    return 1;
  }
  std::fprintf(json, "{\n  \"batch\": %d,\n  \"threads\": 1,\n  \"unit\": \"ms CPU per call, best of 3x5\",\n  \"rows\": [", n);
  std::printf("%-24s %-7s %8s %8s %8s %9s\n", "layer (in px, ic->oc)", "layout", "fwd", "bwd-data", "bwd-wei", "reorders");
  bool first = true;
  for (const Shape& sh : shapes) {
    int oh = sh.h / sh.stride, pad = sh.k / 2, padR = (oh - 1) * sh.stride + sh.k - sh.h - pad;
    memory::dims src{n, sh.ci, sh.h, sh.h}, dst{n, sh.co, oh, oh}, wei{sh.co, sh.ci, sh.k, sh.k};
    memory::dims strides{sh.stride, sh.stride}, padL{pad, pad}, padRight{padR, padR};
    for (bool blocked : {false, true}) {
      tag t = blocked ? tag::any : tag::nhwc;
      memory::desc sd(src, dt::f32, t), dd(dst, dt::f32, t), wd(wei, dt::f32, tag::any);
      convolution_forward::primitive_desc fwd({prop_kind::forward_training, algorithm::convolution_direct, sd, wd, dd, strides, padL, padRight}, eng);
      convolution_backward_data::primitive_desc bwdD({algorithm::convolution_direct, sd, wd, dd, strides, padL, padRight}, eng, fwd);
      convolution_backward_weights::primitive_desc bwdW({algorithm::convolution_direct, sd, wd, dd, strides, padL, padRight}, eng, fwd);
      memory x(fwd.src_desc(), eng), w(fwd.weights_desc(), eng), y(fwd.dst_desc(), eng);
      memory dy(bwdD.diff_dst_desc(), eng), dx(bwdD.diff_src_desc(), eng), wb(bwdD.weights_desc(), eng);
      memory xw(bwdW.src_desc(), eng), dyw(bwdW.diff_dst_desc(), eng), dw(bwdW.diff_weights_desc(), eng);
      for (memory* m : {&x, &w, &y, &dy, &dx, &wb, &xw, &dyw, &dw}) {
        float* f = static_cast<float*>(m->get_data_handle());
        for (size_t i = 0; i < m->get_desc().get_size() / sizeof(float); i++) f[i] = float(i % 17) * 0.01f;
      }
      convolution_forward f(fwd);
      convolution_backward_data d(bwdD);
      convolution_backward_weights g(bwdW);
      auto best = [&](auto&& call) {
        call();
        double ms = 1e9;
        for (int r = 0; r < 3; r++) {
          double c0 = cpuMs();
          for (int i = 0; i < 5; i++) call();
          s.wait();
          ms = std::min(ms, (cpuMs() - c0) / 5);
        }
        return ms;
      };
      double tf = best([&] { f.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y}}); });
      double td = best([&] { d.execute(s, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, wb}, {DNNL_ARG_DIFF_SRC, dx}}); });
      double tw = best([&] { g.execute(s, {{DNNL_ARG_SRC, xw}, {DNNL_ARG_DIFF_DST, dyw}, {DNNL_ARG_DIFF_WEIGHTS, dw}}); });
      // What a blocked forward adds: its input reordered in, its output reordered out.
      double tr = 0;
      if (blocked) {
        memory xu({src, dt::f32, tag::nhwc}, eng), yu({dst, dt::f32, tag::nhwc}, eng);
        reorder in(xu, x), out(y, yu);
        tr = best([&] {
          in.execute(s, xu, x);
          out.execute(s, y, yu);
        });
      }
      char name[32];
      std::snprintf(name, sizeof name, "%d px, %d->%d s%d", sh.h, sh.ci, sh.co, sh.stride);
      const char* layout = blocked ? "oneDNN" : "NHWC";
      std::printf("%-24s %-7s %8.2f %8.2f %8.2f %9.2f\n", name, layout, tf, td, tw, tr);
      std::fprintf(json, "%s\n    {\"layer\": \"%s\", \"layout\": \"%s\", \"forward\": %.3f, \"backward_data\": %.3f, \"backward_weights\": %.3f, \"reorders_in_out\": %.3f}",
                   first ? "" : ",", name, layout, tf, td, tw, tr);
      first = false;
    }
  }
  std::fprintf(json, "\n  ]\n}\n");
  std::fclose(json);
  return 0;
}
