// CIFAR ResNet-32 (He et al.; 16/32/64 channels, 1x1 projection shortcuts, 100 classes) on OpenCheetah, with
// random weights and input: the cost side of issue 13's side by side (time and traffic; the logits mean
// nothing). It reuses the layer helpers of OpenCheetah's own networks/main_resnet50.cpp by including that file
// from OpenCheetah's tree (its main renamed); none of OpenCheetah's code is copied here. build.sh adds it to
// OpenCheetah's CMakeLists as the network "resnet32". Batch norm is folded into each convolution (FusedBN).
// Run: resnet32-cheetah r=1 k=12 ell=41 nt=1 p=PORT (server), and r=2 with ip=ADDRESS (client).
#define main opencheetah_resnet50_main
#include "networks/main_resnet50.cpp"
#undef main
#include <random>

namespace {
std::mt19937_64 generator(2026);

// A tensor the owner knows in the clear (small random values at scale 2^kScale), zero on the other side.
uint64_t *owned(int owner, size_t count, int magnitudeBits) {
  uint64_t *a = new uint64_t[count];
  const uint64_t mask = (uint64_t(1) << bitlength) - 1;
  const int64_t range = int64_t(1) << magnitudeBits;
  std::uniform_int_distribution<int64_t> draw(-range, range);
  for (size_t i = 0; i < count; i++) a[i] = party == owner ? uint64_t(draw(generator)) & mask : 0;
  return a;
}

// Batch-norm scales: positive, 0.25 to 1 at scale 2^kScale (a scale near zero would zero a whole folded
// filter, which OpenCheetah's convolution refuses).
uint64_t *scales(size_t count) {
  uint64_t *a = new uint64_t[count];
  std::uniform_int_distribution<int64_t> draw(int64_t(1) << (kScale - 2), int64_t(1) << kScale);
  for (size_t i = 0; i < count; i++) a[i] = party == SERVER ? uint64_t(draw(generator)) : 0;
  return a;
}

// Convolution with folded batch norm: output at scale 2 kScale (FusedBN), then ReLU with truncation.
uint64_t *convolution(uint64_t *x, int H, int W, int CI, int K, int CO, int stride, int pad, int &outH, int &outW) {
  outH = (H + 2 * pad - K) / stride + 1;
  outW = (W + 2 * pad - K) / stride + 1;
  uint64_t *filter = owned(SERVER, size_t(K) * K * CI * CO, kScale - 3);
  uint64_t *scale = scales(CO);
  uint64_t *bias = owned(SERVER, CO, kScale - 2);
  uint64_t *y = new uint64_t[size_t(outH) * outW * CO];
  FusedBN(1, H, W, CI, K, K, CO, pad, pad, pad, pad, stride, stride, x, filter, scale, bias, y);
  delete[] filter; delete[] scale; delete[] bias;
  return y;
}

uint64_t *rectify(uint64_t *x, int H, int W, int C) {
  uint64_t *y = new uint64_t[size_t(H) * W * C];
  Relu4(1, H, W, C, x, y, kScale, kDoExtractTruncate);
  delete[] x;
  return y;
}
}  // namespace

int main(int argc, char **argv) {
  ArgMapping amap;
  amap.arg("r", party, "Role of party: ALICE/SERVER = 1; BOB/CLIENT = 2");
  amap.arg("p", port, "Port Number");
  amap.arg("ip", address, "IP Address of server (ALICE)");
  amap.arg("nt", num_threads, "Number of Threads");
  amap.arg("ell", bitlength, "Uniform Bitwidth");
  amap.arg("k", kScale, "bits of scale");
  amap.parse(argc, argv);
  assert(party == SERVER || party == CLIENT);

  uint64_t *x = owned(CLIENT, 32 * 32 * 3, kScale);
  StartComputation();
  int H = 32, W = 32, C = 16, h, w;
  kIsSharedInput = false;
  uint64_t *stem = convolution(x, 32, 32, 3, 3, 16, 1, 1, h, w);
  kIsSharedInput = true;
  delete[] x;
  x = rectify(stem, 32, 32, 16);
  for (int stage = 0; stage < 3; stage++) {
    for (int block = 0; block < 5; block++) {
      const int out = 16 << stage, stride = stage > 0 && block == 0 ? 2 : 1;
      uint64_t *a = rectify(convolution(x, H, W, C, 3, out, stride, 1, h, w), h, w, out);
      int h2, w2;
      uint64_t *b = convolution(a, h, w, out, 3, out, 1, 1, h2, w2);   // scale 2 kScale
      delete[] a;
      uint64_t *shortcut;
      if (stride != 1 || C != out) {
        int hs, ws;
        shortcut = convolution(x, H, W, C, 1, out, stride, 0, hs, ws);  // scale 2 kScale
      } else {
        shortcut = new uint64_t[size_t(H) * W * C];
        std::copy(x, x + size_t(H) * W * C, shortcut);
        ScaleUp4(1, H, W, C, shortcut, kScale);
      }
      uint64_t *sum = new uint64_t[size_t(h2) * w2 * out];
      MatAdd4(1, h2, w2, out, b, shortcut, sum);
      delete[] b; delete[] shortcut; delete[] x;
      x = rectify(sum, h2, w2, out);
      H = h2; W = w2; C = out;
    }
  }
  uint64_t *pooled = new uint64_t[C];
  AvgPool(1, 1, 1, C, H, W, 0, 0, 0, 0, 1, 1, 1, H, W, C, x, pooled);
  uint64_t *fc = owned(SERVER, size_t(C) * 100, kScale - 3);
  uint64_t *logits = new uint64_t[100];
  MatMul2D(1, C, 100, pooled, fc, logits, false);
  EndComputation();
  delete[] x; delete[] pooled; delete[] fc; delete[] logits;
  return 0;
}
