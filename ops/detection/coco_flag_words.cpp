// The two layouts of COCO's matching flags (coco_evaluation.h): the
// operators' [A * T, D] bools and the kernels' [D][W] bit words, converted
// 64 detections at a time through 64 x 64 bit transposes, on the pool.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include <torch_mt/parallel.h>
#include "coco_evaluation.h"

namespace mt::detection {

void transpose_bits(uint64_t rows[64]) {
  // Each round swaps the off-diagonal blocks of every block of the round's
  // size (32, 16, ... 1 bits): 32 pairs of rows a round.
  uint64_t mask = 0x00000000FFFFFFFFull;
  for (int size = 32; size != 0; size >>= 1, mask ^= mask << size) {
    for (int i = 0; i < 64; i = ((i | size) + 1) & ~size) {
      const uint64_t swap = ((rows[i] >> size) ^ rows[i | size]) & mask;
      rows[i] ^= swap << size;
      rows[i | size] ^= swap;
    }
  }
}

namespace {

// Eight bool bytes (0 or 1) to eight bits, byte i to bit i: the multiply
// moves every byte's bit into the top byte, without carries.
uint64_t pack_bytes(uint64_t bytes) { return (bytes * 0x0102040810204080ull) >> 56; }

// Eight bits to eight bool bytes, bit i to byte i: each byte keeps its own
// bit of the repeated value, and adding 0x80 - bit lifts it to the byte's top.
uint64_t unpack_byte(uint64_t bits) {
  const uint64_t spread = (bits * 0x0101010101010101ull) & 0x8040201008040201ull;
  return ((spread + 0x00406070787C7E7Full) >> 7) & 0x0101010101010101ull;
}

// A 64-detection block costs about this much per word of flags.
constexpr int64_t kBlockNs = 400;

}  // namespace

void pack_flags(const bool* flags, int64_t bits, int64_t detections, uint64_t* words) {
  const int64_t W = (bits + 63) / 64, blocks = (detections + 63) / 64;
  parallel_for(
      0, blocks, grain_for(kBlockNs * std::max<int64_t>(W, 1)), [&](int64_t first, int64_t last) {
        uint64_t rows[64];
        for (int64_t block = first; block < last; ++block) {
          const int64_t d0 = block * 64, count = std::min<int64_t>(64, detections - d0);
          for (int64_t word = 0; word < W; ++word) {
            for (int64_t j = 0; j < 64; ++j) {  // row j: flag b over the block's detections
              const int64_t b = word * 64 + j;
              uint64_t row = 0;
              if (b < bits) {
                const bool* flag = flags + b * detections + d0;
                for (int64_t q = 0; q * 8 < count; ++q) {
                  uint64_t bytes = 0;
                  std::memcpy(&bytes, flag + q * 8,
                              static_cast<size_t>(std::min<int64_t>(8, count - q * 8)));
                  row |= pack_bytes(bytes) << (q * 8);
                }
              }
              rows[j] = row;
            }
            transpose_bits(rows);
            for (int64_t i = 0; i < count; ++i) {
              words[(d0 + i) * W + word] = rows[i];
            }
          }
        }
      });
}

void unpack_flags(const uint64_t* words, int64_t bits, int64_t detections, bool* flags) {
  const int64_t W = (bits + 63) / 64, blocks = (detections + 63) / 64;
  parallel_for(0, blocks, grain_for(kBlockNs * std::max<int64_t>(W, 1)),
               [&](int64_t first, int64_t last) {
                 uint64_t rows[64];
                 for (int64_t block = first; block < last; ++block) {
                   const int64_t d0 = block * 64, count = std::min<int64_t>(64, detections - d0);
                   for (int64_t word = 0; word < W; ++word) {
                     for (int64_t i = 0; i < 64; ++i) {
                       rows[i] = i < count ? words[(d0 + i) * W + word] : 0;
                     }
                     transpose_bits(rows);
                     for (int64_t j = 0; j < 64 && word * 64 + j < bits; ++j) {
                       bool* flag = flags + (word * 64 + j) * detections + d0;
                       for (int64_t q = 0; q * 8 < count; ++q) {
                         const uint64_t bytes = unpack_byte((rows[j] >> (q * 8)) & 0xFF);
                         std::memcpy(flag + q * 8, &bytes,
                                     static_cast<size_t>(std::min<int64_t>(8, count - q * 8)));
                       }
                     }
                   }
                 }
               });
}

}  // namespace mt::detection
