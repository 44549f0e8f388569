// galmorph's optional native kernels: oneDNN convolutions and batch normalisation that read and
// write the tfjs-wasm heap in place. JS passes the heap's ArrayBuffer and byte offsets of NHWC
// tensors (a native oneDNN layout), HWIO filters and per-channel vectors; only what a primitive
// wants in another layout is copied (filters, and the activations of small-output forward
// convs: see blockedForward).
//
// Primitives are cached per shape, per thread: every worker_thread has its own wasm heap and
// its own OpenMP team, so sharing nothing avoids locks entirely.
#include <node_api.h>
#include <omp.h>

#include <cstdint>
#include <cstdlib>
#include <new>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "oneapi/dnnl/dnnl.hpp"

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// Geometry of one 2-D convolution, in the order JS packs it into an Int32Array.
struct Conv {
  int64_t n, ih, iw, ic, kh, kw, oc, oh, ow, sh, sw, pt, pl, pb, pr;
  std::string key(const char* kind, int extra) const {
    std::string k(kind);
    for (int64_t v : {n, ih, iw, ic, kh, kw, oc, oh, ow, sh, sw, pt, pl, pb, pr, int64_t(extra)}) {
      k += ',';
      k += std::to_string(v);
    }
    return k;
  }
  memory::desc src(tag t = tag::nhwc) const { return {{n, ic, ih, iw}, dt::f32, t}; }
  memory::desc dst(tag t = tag::nhwc) const { return {{n, oc, oh, ow}, dt::f32, t}; }
  memory::desc wei(tag t = tag::hwio) const { return {{oc, ic, kh, kw}, dt::f32, t}; }
  int64_t srcFloats() const { return n * ih * iw * ic; }
  int64_t dstFloats() const { return n * oh * ow * oc; }
  int64_t weiFloats() const { return kh * kw * ic * oc; }
  memory::dims strides() const { return {sh, sw}; }
  memory::dims padL() const { return {pt, pl}; }
  memory::dims padR() const { return {pb, pr}; }
  // Negative trailing padding: input rows or columns the conv never reads (a strided 'same'
  // conv on an even size, like the networks' 1×1 projections). oneDNN 2.6 takes it but then
  // corrupts the heap for some shapes, so such convs run on a dense copy of what they read:
  // for a 1×1 kernel the stride's grid, with stride 1 (what oneDNN's own 1×1 convs do with
  // strides); otherwise the input without the unread rows and columns.
  bool cropped() const { return pb < 0 || pr < 0; }
  Conv read() const {
    Conv r = *this;
    if (kh == 1 && kw == 1 && pt == 0 && pl == 0) {
      r.ih = oh, r.iw = ow, r.sh = 1, r.sw = 1, r.pb = 0, r.pr = 0;
      return r;
    }
    if (pb < 0) {
      r.ih += pb;
      r.pb = 0;
    }
    if (pr < 0) {
      r.iw += pr;
      r.pr = 0;
    }
    return r;
  }
};

struct Ctx {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
};

// Per-thread buffers for activations the primitives want in a blocked layout, shared by every
// primitive: calls run one at a time, and a blocked copy lives only for the call.
class Staging {
 public:
  float* get(int slot, size_t bytes) {
    Buffer& b = slots_[slot];
    if (b.bytes < bytes) {
      b.data.reset(static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)));
      if (!b.data) throw std::bad_alloc();
      b.bytes = bytes;
    }
    return b.data.get();
  }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  struct Buffer {
    std::unique_ptr<float, Free> data;
    size_t bytes = 0;
  };
  Buffer slots_[2];
};

// A tensor in the user's layout (on the heap: NHWC activations, HWIO weights) and, when the
// primitive prefers another one, its copy in that layout and the reorder between them. Weights
// own their copy (it is small); activations use a staging slot (`slot` >= 0).
struct Relayout {
  memory user;
  memory prim;
  dnnl::reorder convert;
  bool needs;
  int slot;
  Relayout(const Ctx& c, memory user_mem, const memory::desc& prim_md, bool to_user, int slot = -1)
      : user(std::move(user_mem)), needs(user.get_desc() != prim_md), slot(slot) {
    prim = !needs ? user : slot >= 0 ? memory(prim_md, c.eng, DNNL_MEMORY_NONE) : memory(prim_md, c.eng);
    if (needs) convert = to_user ? dnnl::reorder(prim, user) : dnnl::reorder(user, prim);
  }
  Relayout(const Ctx& c, const memory::desc& user_md, const memory::desc& prim_md, bool to_user, int slot = -1)
      : Relayout(c, memory(user_md, c.eng, DNNL_MEMORY_NONE), prim_md, to_user, slot) {}
  // Points the user tensor at `data` (null: keep the current handle) and the copy at its slot.
  void bind(Staging& staging, float* data) {
    if (data != nullptr) user.set_data_handle(data);
    if (needs && slot >= 0) prim.set_data_handle(staging.get(slot, prim.get_desc().get_size()));
  }
  void in(const Ctx& c) {
    if (needs) convert.execute(c.strm, user, prim);
  }
  void out(const Ctx& c) {
    if (needs) convert.execute(c.strm, prim, user);
  }
};

// An NHWC input (or input gradient) of a cropped conv: `part`, the pixels read in place on
// the heap (a strided view), and its dense copy the primitive works on.
struct Crop {
  memory part, dense;
  dnnl::reorder copy;
  Crop(const Ctx& c, const Conv& g, bool in) {
    Conv r = g.read();
    int64_t step_h = g.sh / r.sh, step_w = g.sw / r.sw;
    part = memory({{g.n, g.ic, r.ih, r.iw}, dt::f32, {g.ih * g.iw * g.ic, 1, step_h * g.iw * g.ic, step_w * g.ic}}, c.eng,
                  DNNL_MEMORY_NONE);
    dense = memory(r.src(), c.eng);
    copy = in ? dnnl::reorder(part, dense) : dnnl::reorder(dense, part);
  }
};

// One cached convolution primitive — forward, backward-data or backward-weights — and its
// arguments: `act` the activations (src, or diff_src going backward: the heap tensor, or for a
// cropped conv its dense copy in `crop`), `dst` the output (or its gradient), `w` the weights
// (or their gradient), each with the primitive's layout; `bias` only used forward.
struct ConvEntry {
  dnnl::primitive prim;
  std::unique_ptr<Crop> crop;
  Relayout act, dst, w;
  memory bias;
};

// The layouts a primitive works in (the activations' and weights' may differ from the heap's).
struct Layouts {
  memory::desc act, dst, w;
};

// A cache entry for `prim` on `g`; `actIn` says whether the activations are read (forward,
// backward-weights) or written (backward-data), `weightsOut` whether the weights are written
// (backward-weights). Only the forward writes `dst`; the backward ones read it (the gradient).
ConvEntry convEntry(const Ctx& c, const Conv& g, dnnl::primitive prim, const Layouts& l, bool actIn, bool weightsOut) {
  bool dstOut = actIn && !weightsOut;
  std::unique_ptr<Crop> crop = g.cropped() ? std::make_unique<Crop>(c, g, actIn) : nullptr;
  memory act = crop ? crop->dense : memory(g.src(), c.eng, DNNL_MEMORY_NONE);
  return ConvEntry{std::move(prim),
                   std::move(crop),
                   Relayout(c, act, l.act, !actIn, 0),
                   Relayout(c, g.dst(), l.dst, dstOut, 1),
                   Relayout(c, g.wei(), l.w, weightsOut),
                   memory(memory::desc({g.oc}, dt::f32, tag::x), c.eng, DNNL_MEMORY_NONE)};
}

// Shape of a batch-normalised NHWC tensor [n, h, w, c]; statistics, scale and shift are [c].
struct Norm {
  int64_t n, h, w, c;
  // epsilon is part of the primitive, so part of the key (by its bits: exact and short).
  std::string key(const char* kind, float epsilon) const {
    uint32_t bits;
    std::memcpy(&bits, &epsilon, sizeof bits);
    std::string k(kind);
    for (int64_t v : {n, h, w, c, int64_t(bits)}) {
      k += ',';
      k += std::to_string(v);
    }
    return k;
  }
  memory::desc data() const { return {{n, c, h, w}, dt::f32, tag::nhwc}; }
  memory::desc stat() const { return {{c}, dt::f32, tag::x}; }
};

// A primitive whose arguments are all plain user memory on the heap (no reorders): memory
// objects per argument, pointed at the call's tensors before each execution.
struct Bound {
  dnnl::primitive prim;
  std::unordered_map<int, memory> args;
};

struct Cache {
  Ctx ctx;
  Staging staging;
  std::unordered_map<std::string, ConvEntry> conv;
  std::unordered_map<std::string, Bound> norm;
};

Cache& cache() {
  thread_local Cache c;
  return c;
}

// The entry of `map` under `key`, made by `make()` on first use.
template <typename Map, typename Make>
typename Map::mapped_type& cached(Map& map, const std::string& key, Make&& make) {
  auto it = map.find(key);
  if (it == map.end()) it = map.emplace(key, make()).first;
  return it->second;
}

// Points the entry's input activations at the heap tensor `x`, copying what is read when cropped.
void bindInput(Cache& c, ConvEntry& e, float* x) {
  if (e.crop) {
    e.crop->part.set_data_handle(x);
    e.crop->copy.execute(c.ctx.strm, e.crop->part, e.crop->dense);
  }
  e.act.bind(c.staging, e.crop ? nullptr : x);
}

memory::desc any(const memory::desc& d) { return memory::desc(d.dims(), dt::f32, tag::any); }

// Forward convs with small outputs (<= 64 positions per image: the deep, wide layers) let oneDNN
// choose the activations' layout. Its blocked one (8 channels innermost) runs them 3-35%
// faster than NHWC on AVX2 (bench/engine/onednn_layouts.cc, two runs on a loaded machine), and
// the reorders in and out of such small maps cost 1-4% of a call. On large maps the reorders,
// memory-bound in a network, ate the gain; backward-data and -weights showed none in the
// network, so those, and cropped convs, stay NHWC.
bool blockedForward(const Conv& g) { return !g.cropped() && g.oh * g.ow <= 64; }

dnnl::convolution_forward::primitive_desc fwdPd(const Ctx& c, const Conv& g, bool bias, int act, bool blocked) {
  auto src = blocked ? any(g.src()) : g.src();
  auto dst = blocked ? any(g.dst()) : g.dst();
  auto d = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                  src, any(g.wei()), memory::desc({g.oc}, dt::f32, tag::x), dst,
                                                  g.strides(), g.padL(), g.padR())
                : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                  src, any(g.wei()), dst, g.strides(), g.padL(), g.padR());
  dnnl::primitive_attr attr;
  if (act == 1) {
    dnnl::post_ops po;
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
  }
  return {d, attr, c.eng};
}

// The cached backward-data or backward-weights primitive (`Backward`) of `g`, hinted by the
// forward one. Going backward-data the weights are read and the activations' gradient written;
// backward-weights reads the activations and writes the weights' gradient.
template <typename Backward>
ConvEntry& backwardEntry(Cache& c, const Conv& g) {
  constexpr bool toWeights = std::is_same_v<Backward, dnnl::convolution_backward_weights>;
  return cached(c.conv, g.key(toWeights ? "w" : "d", 0), [&] {
    Conv r = g.read();
    typename Backward::desc d(dnnl::algorithm::convolution_direct, r.src(), any(r.wei()), r.dst(), r.strides(), r.padL(), r.padR());
    typename Backward::primitive_desc pd(d, c.ctx.eng, fwdPd(c.ctx, r, false, 0, false));
    Layouts l = toWeights ? Layouts{pd.src_desc(), pd.diff_dst_desc(), pd.diff_weights_desc()}
                          : Layouts{pd.diff_src_desc(), pd.diff_dst_desc(), pd.weights_desc()};
    return convEntry(c.ctx, g, Backward(pd), l, toWeights, toWeights);
  });
}

// ---- N-API plumbing ----------------------------------------------------------------------

struct Error {
  std::string msg;
};

void check(napi_env env, napi_status s, const char* what) {
  if (s != napi_ok) throw Error{std::string("galmorph native: bad argument: ") + what};
}

uint8_t* heapArg(napi_env env, napi_value v, size_t* len) {
  void* data = nullptr;
  check(env, napi_get_arraybuffer_info(env, v, &data, len), "heap must be an ArrayBuffer");
  return static_cast<uint8_t*>(data);
}

int64_t intArg(napi_env env, napi_value v) {
  int64_t r = 0;
  check(env, napi_get_value_int64(env, v, &r), "expected an integer");
  return r;
}

float floatArg(napi_env env, napi_value v) {
  double r = 0;
  check(env, napi_get_value_double(env, v, &r), "expected a number");
  return float(r);
}

// The `count` integers of an Int32Array argument.
const int32_t* int32sArg(napi_env env, napi_value v, size_t count, const char* what) {
  bool is = false;
  napi_typedarray_type type;
  size_t len = 0;
  void* data = nullptr;
  check(env, napi_is_typedarray(env, v, &is), what);
  if (is) check(env, napi_get_typedarray_info(env, v, &type, &len, &data, nullptr, nullptr), what);
  if (!is || type != napi_int32_array || len != count) {
    throw Error{std::string("galmorph native: ") + what + " must be an Int32Array of " + std::to_string(count)};
  }
  return static_cast<const int32_t*>(data);
}

Conv convArg(napi_env env, napi_value v) {
  const int32_t* d = int32sArg(env, v, 15, "geometry");
  return Conv{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14]};
}

Norm normArg(napi_env env, napi_value v) {
  const int32_t* d = int32sArg(env, v, 4, "shape");
  return Norm{d[0], d[1], d[2], d[3]};
}

// A pointer `bytes` long at `offset` into the heap, bounds-checked so a JS mistake cannot
// make oneDNN write outside the wasm memory.
float* at(uint8_t* heap, size_t heapLen, int64_t offset, int64_t floats) {
  if (offset < 0 || offset % 4 != 0 || uint64_t(offset) + uint64_t(floats) * 4 > heapLen) {
    throw Error{"galmorph native: tensor lies outside the heap (offset " + std::to_string(offset) + ")"};
  }
  return reinterpret_cast<float*>(heap + offset);
}

// The call's arguments, which must be exactly N.
template <size_t N>
void args(napi_env env, napi_callback_info info, napi_value (&argv)[N]) {
  size_t argc = N;
  check(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr), "arguments");
  if (argc != N) throw Error{"galmorph native: expected " + std::to_string(N) + " arguments"};
}

template <typename F>
napi_value guarded(napi_env env, F&& body) {
  try {
    return body();
  } catch (const dnnl::error& e) {
    napi_throw_error(env, nullptr, (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const Error& e) {
    napi_throw_error(env, nullptr, e.msg.c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

// The arguments of one kernel call: exactly N, the first the wasm heap; tensors are byte
// offsets into it.
template <size_t N>
struct Call {
  napi_env env;
  napi_value argv[N];
  uint8_t* heap = nullptr;
  size_t len = 0;
  Call(napi_env e, napi_callback_info info) : env(e) {
    args(env, info, argv);
    heap = heapArg(env, argv[0], &len);
  }
  int64_t integer(size_t i) const { return intArg(env, argv[i]); }
  float number(size_t i) const { return floatArg(env, argv[i]); }
  Conv conv(size_t i) const { return convArg(env, argv[i]); }
  Norm norm(size_t i) const { return normArg(env, argv[i]); }
  // The tensor of `floats` floats whose offset is argument i.
  float* tensor(size_t i, int64_t floats) const { return at(heap, len, integer(i), floats); }
};

// An N-argument kernel entry point: unpacks the call, runs `body(call, cache)` on the calling
// thread's cache, waits for its stream to finish (JS reads the results next) and turns errors
// into JS ones.
template <size_t N, typename F>
napi_value kernel(napi_env env, napi_callback_info info, F&& body) {
  return guarded(env, [&]() -> napi_value {
    Call<N> call(env, info);
    Cache& c = cache();
    body(call, c);
    c.ctx.strm.wait();
    return nullptr;
  });
}

// conv2d(heap, geometry, x, w, bias (-1: none), y, activation (0 linear, 1 relu))
napi_value Conv2d(napi_env env, napi_callback_info info) {
  return kernel<7>(env, info, [](const Call<7>& a, Cache& c) {
    Conv g = a.conv(1);
    bool bias = a.integer(4) >= 0;
    int act = int(a.integer(6));
    ConvEntry& e = cached(c.conv, g.key("f", int(bias) * 2 + act), [&] {
      auto pd = fwdPd(c.ctx, g.read(), bias, act, blockedForward(g));
      return convEntry(c.ctx, g, dnnl::convolution_forward(pd), {pd.src_desc(), pd.dst_desc(), pd.weights_desc()}, true, false);
    });
    bindInput(c, e, a.tensor(2, g.srcFloats()));
    e.w.bind(c.staging, a.tensor(3, g.weiFloats()));
    e.dst.bind(c.staging, a.tensor(5, g.dstFloats()));
    e.act.in(c.ctx);
    e.w.in(c.ctx);
    std::unordered_map<int, memory> m{{DNNL_ARG_SRC, e.act.prim}, {DNNL_ARG_WEIGHTS, e.w.prim}, {DNNL_ARG_DST, e.dst.prim}};
    if (bias) {
      e.bias.set_data_handle(a.tensor(4, g.oc));
      m.emplace(DNNL_ARG_BIAS, e.bias);
    }
    e.prim.execute(c.ctx.strm, m);
    e.dst.out(c.ctx);
  });
}

// conv2dBackwardData(heap, geometry, dy, w, dx)
napi_value Conv2dBackwardData(napi_env env, napi_callback_info info) {
  return kernel<5>(env, info, [](const Call<5>& a, Cache& c) {
    Conv g = a.conv(1);
    ConvEntry& e = backwardEntry<dnnl::convolution_backward_data>(c, g);
    float* dx = a.tensor(4, g.srcFloats());
    e.dst.bind(c.staging, a.tensor(2, g.dstFloats()));
    e.w.bind(c.staging, a.tensor(3, g.weiFloats()));
    e.act.bind(c.staging, e.crop ? nullptr : dx);
    e.dst.in(c.ctx);
    e.w.in(c.ctx);
    e.prim.execute(c.ctx.strm, {{DNNL_ARG_DIFF_DST, e.dst.prim}, {DNNL_ARG_WEIGHTS, e.w.prim}, {DNNL_ARG_DIFF_SRC, e.act.prim}});
    e.act.out(c.ctx);
    if (e.crop) {
      // Unread pixels get no gradient.
      std::memset(dx, 0, sizeof(float) * g.srcFloats());
      e.crop->part.set_data_handle(dx);
      e.crop->copy.execute(c.ctx.strm, e.crop->dense, e.crop->part);
    }
  });
}

// conv2dBackwardWeights(heap, geometry, x, dy, dw)
napi_value Conv2dBackwardWeights(napi_env env, napi_callback_info info) {
  return kernel<5>(env, info, [](const Call<5>& a, Cache& c) {
    Conv g = a.conv(1);
    ConvEntry& e = backwardEntry<dnnl::convolution_backward_weights>(c, g);
    bindInput(c, e, a.tensor(2, g.srcFloats()));
    e.dst.bind(c.staging, a.tensor(3, g.dstFloats()));
    e.w.bind(c.staging, a.tensor(4, g.weiFloats()));
    e.act.in(c.ctx);
    e.dst.in(c.ctx);
    e.prim.execute(c.ctx.strm, {{DNNL_ARG_SRC, e.act.prim}, {DNNL_ARG_DIFF_DST, e.dst.prim}, {DNNL_ARG_DIFF_WEIGHTS, e.w.prim}});
    e.w.out(c.ctx);
  });
}

// A batch-norm primitive whose arguments are all [n, h, w, c] data or [c] vectors on the heap:
// `data` and `stats` list which argument kinds are which.
Bound bound(const Ctx& c, const Norm& g, dnnl::primitive prim, std::initializer_list<int> data, std::initializer_list<int> stats) {
  Bound b{std::move(prim), {}};
  for (int arg : data) b.args.emplace(arg, memory(g.data(), c.eng, DNNL_MEMORY_NONE));
  for (int arg : stats) b.args.emplace(arg, memory(g.stat(), c.eng, DNNL_MEMORY_NONE));
  return b;
}

// Points each argument of `b` at its tensor — `order[k]` is the oneDNN argument whose offset is
// call argument `first + k` — and runs it.
template <size_t N>
void run(Cache& c, Bound& b, const Call<N>& a, size_t first, std::initializer_list<int> order) {
  size_t i = first;
  for (int arg : order) {
    memory& m = b.args.at(arg);
    m.set_data_handle(a.tensor(i++, int64_t(m.get_desc().get_size() / sizeof(float))));
  }
  b.prim.execute(c.ctx.strm, b.args);
}

const auto kScaleShift = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;

// batchNorm(heap, shape, epsilon, training, x, mean, variance, gamma, beta, y): training (1)
// normalises with the batch's statistics and writes them (biased variance) to mean/variance;
// inference (0) reads them.
napi_value BatchNorm(napi_env env, napi_callback_info info) {
  return kernel<10>(env, info, [](const Call<10>& a, Cache& c) {
    Norm g = a.norm(1);
    float eps = a.number(2);
    bool training = a.integer(3) != 0;
    Bound& b = cached(c.norm, g.key(training ? "nt" : "ni", eps), [&] {
      dnnl::batch_normalization_forward::desc d(
          training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference, g.data(), eps,
          training ? kScaleShift : kScaleShift | dnnl::normalization_flags::use_global_stats);
      return bound(c.ctx, g, dnnl::batch_normalization_forward({d, c.ctx.eng}), {DNNL_ARG_SRC, DNNL_ARG_DST},
                   {DNNL_ARG_MEAN, DNNL_ARG_VARIANCE, DNNL_ARG_SCALE, DNNL_ARG_SHIFT});
    });
    run(c, b, a, 4, {DNNL_ARG_SRC, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_DST});
  });
}

// batchNormBackward(heap, shape, epsilon, x, mean, variance, gamma, beta, dy, dx, dgamma, dbeta):
// the gradient of training-mode batchNorm, given the batch statistics its forward wrote. The
// result does not depend on beta, but oneDNN's primitive wants the shift it was defined with.
napi_value BatchNormBackward(napi_env env, napi_callback_info info) {
  return kernel<12>(env, info, [](const Call<12>& a, Cache& c) {
    Norm g = a.norm(1);
    float eps = a.number(2);
    Bound& b = cached(c.norm, g.key("nb", eps), [&] {
      dnnl::batch_normalization_forward::primitive_desc hint({dnnl::prop_kind::forward_training, g.data(), eps, kScaleShift}, c.ctx.eng);
      dnnl::batch_normalization_backward::desc d(dnnl::prop_kind::backward, g.data(), g.data(), eps, kScaleShift);
      return bound(c.ctx, g, dnnl::batch_normalization_backward({d, c.ctx.eng, hint}), {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC},
                   {DNNL_ARG_MEAN, DNNL_ARG_VARIANCE, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT});
    });
    run(c, b, a, 3,
        {DNNL_ARG_SRC, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC,
         DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT});
  });
}

// reluBackward(heap, count, x, dy, dx): ReLU's gradient in one pass, dx = dy · step(x) exactly as
// tfjs defines it (step is 1 above 0, 0 at and below, NaN at NaN; so −0 and NaN come out alike),
// where tfjs makes three single-threaded wasm passes (step, cast, multiply) over each activation.
napi_value ReluBackward(napi_env env, napi_callback_info info) {
  return kernel<5>(env, info, [](const Call<5>& a, Cache&) {
    int64_t count = a.integer(1);
    // dx is a fresh output, so nothing aliases it; written as two selects the loop vectorises.
    const float* __restrict x = a.tensor(2, count);
    const float* __restrict dy = a.tensor(3, count);
    float* __restrict dx = a.tensor(4, count);
    for (int64_t i = 0; i < count; i++) {
      float step = x[i] > 0.f ? 1.f : 0.f;
      step = x[i] != x[i] ? x[i] : step;
      dx[i] = dy[i] * step;
    }
  });
}

// setThreads(n): OpenMP threads for oneDNN calls made from the calling thread (a per-thread
// setting, so each worker_thread chooses its own).
napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value a[1];
    args(env, info, a);
    int64_t n = intArg(env, a[0]);
    if (n < 1) throw Error{"galmorph native: threads must be >= 1"};
    omp_set_num_threads(int(n));
    return nullptr;
  });
}

// info() → { version, threads }
napi_value Info(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    const dnnl_version_t* v = dnnl_version();
    std::string version = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
    napi_value out, s, t;
    check(env, napi_create_object(env, &out), "info");
    check(env, napi_create_string_utf8(env, version.c_str(), version.size(), &s), "info");
    check(env, napi_create_int32(env, omp_get_max_threads(), &t), "info");
    check(env, napi_set_named_property(env, out, "version", s), "info");
    check(env, napi_set_named_property(env, out, "threads", t), "info");
    return out;
  });
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"conv2d", nullptr, Conv2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackwardData", nullptr, Conv2dBackwardData, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackwardWeights", nullptr, Conv2dBackwardWeights, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNorm", nullptr, BatchNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormBackward", nullptr, BatchNormBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reluBackward", nullptr, ReluBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
