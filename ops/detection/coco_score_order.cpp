// The accumulation's score order (coco_accumulate.cpp): each category's
// detections sorted by score as pycocotools' mergesort leaves them, and its
// flags turned into bit sets in that order (coco_evaluation.h says why).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include <torch_mt/parallel.h>
#include "coco_evaluation.h"

namespace mt::detection {
namespace {

// Sorting costs about this much per detection.
constexpr int64_t kSortNs = 100;

// A score as an unsigned key that sorts in descending score order: the
// bits made monotonic (negatives flipped), then inverted. -0.0 is 0.0 (they
// tie, as NumPy's sort compares them); scores are not NaN (checked).
uint64_t descending_key(double score) {
  uint64_t bits = 0;
  const double value = score == 0 ? 0.0 : score;
  std::memcpy(&bits, &value, sizeof bits);
  const uint64_t ascending = (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
  return ~ascending;
}

struct SortScratch {
  std::vector<uint64_t> keys, keys_out;
  std::vector<int64_t> items_out;
};

// np.argsort(-scores, kind="mergesort") of `items` (detection indices in
// increasing order): stable, descending. A least-significant-digit radix
// sort on the keys, a byte a pass, is stable, so ties keep index order; a
// byte all keys share (the high bytes of scores in [0, 1]) costs no pass.
void sort_by_score_descending(const double* scores, std::vector<int64_t>& items,
                              SortScratch& scratch) {
  const size_t n = items.size();
  auto& keys = scratch.keys;
  auto& keys_out = scratch.keys_out;
  auto& items_out = scratch.items_out;
  keys.resize(n);
  keys_out.resize(n);
  items_out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    keys[i] = descending_key(scores[items[i]]);
  }
  for (int shift = 0; shift < 64; shift += 8) {
    size_t counts[257] = {};
    for (size_t i = 0; i < n; ++i) {
      ++counts[((keys[i] >> shift) & 0xff) + 1];
    }
    if (n == 0 || counts[((keys[0] >> shift) & 0xff) + 1] == n) {
      continue;  // every key has this byte
    }
    for (int b = 0; b < 256; ++b) {
      counts[b + 1] += counts[b];
    }
    for (size_t i = 0; i < n; ++i) {
      const size_t at = counts[(keys[i] >> shift) & 0xff]++;
      keys_out[at] = keys[i];
      items_out[at] = items[i];
    }
    keys.swap(keys_out);
    items.swap(items_out);
  }
}

// Building one word of every row costs about this much.
constexpr int64_t kWordNs = 300;

}  // namespace

CategoryOrders sort_categories(const AccumulateInputs& in) {
  int64_t widest = 0;
  for (int64_t m = 0; m < in.num_max; ++m) {
    widest = std::max(widest, in.max_detections[m]);
  }
  CategoryOrders orders{std::vector<std::vector<int64_t>>(static_cast<size_t>(in.categories)),
                        std::vector<int64_t>(static_cast<size_t>(in.detections), 0)};
  const int64_t per_category =
      std::max<int64_t>(1, in.detections / std::max<int64_t>(1, in.categories));
  parallel_for(0, in.categories, grain_for(kSortNs * per_category),
               [&](int64_t first, int64_t last) {
                 SortScratch scratch;
                 for (int64_t k = first; k < last; ++k) {
                   auto& sorted = orders.sorted[k];
                   for (int64_t i = 0; i < in.images; ++i) {
                     const int64_t c = k * in.images + i;
                     const int64_t begin = in.offsets[c];
                     const int64_t end = std::min(in.offsets[c + 1], begin + widest);
                     for (int64_t d = begin; d < end; ++d) {
                       sorted.push_back(d);
                       orders.rank[d] = d - begin;
                     }
                   }
                   sort_by_score_descending(in.scores, sorted, scratch);
                 }
               });
  return orders;
}

ScoreOrderBits score_order_bits(const AccumulateInputs& in, const CategoryOrders& orders) {
  ScoreOrderBits bits;
  bits.first_word.assign(static_cast<size_t>(in.categories) + 1, 0);
  for (int64_t k = 0; k < in.categories; ++k) {
    const auto n = static_cast<int64_t>(orders.sorted[k].size());
    bits.first_word[k + 1] = bits.first_word[k] + (n + 63) / 64;
  }
  const int64_t total = bits.total = bits.first_word[in.categories];
  const int64_t flags = in.ranges * in.thresholds, W = flag_words(in.ranges, in.thresholds);
  bits.positive = uninitialized_words(flags * total);
  bits.negative = uninitialized_words(flags * total);
  bits.selected = uninitialized_words(in.num_max * total);
  // The words of all categories as one range: one category alone (keypoints,
  // use_categories=False) still splits.
  parallel_for(0, total, grain_for(kWordNs * (W + 1)), [&](int64_t first, int64_t last) {
    auto k = static_cast<int64_t>(
        std::upper_bound(bits.first_word.begin(), bits.first_word.end(), first) -
        bits.first_word.begin() - 1);
    uint64_t hit[64], skip[64];
    for (int64_t w = first; w < last; ++w) {
      while (bits.first_word[k + 1] <= w) {
        ++k;
      }
      const int64_t* order = orders.sorted[k].data();
      const int64_t begin = (w - bits.first_word[k]) * 64;
      const int64_t count =
          std::min<int64_t>(64, static_cast<int64_t>(orders.sorted[k].size()) - begin);
      const uint64_t valid = count == 64 ? ~uint64_t{0} : (uint64_t{1} << count) - 1;
      for (int64_t m = 0; m < in.num_max; ++m) {
        uint64_t within = 0;
        for (int64_t j = 0; j < count; ++j) {
          within |= uint64_t{orders.rank[order[begin + j]] < in.max_detections[m]} << j;
        }
        bits.selected[m * total + w] = within;
      }
      for (int64_t word = 0; word < W; ++word) {
        for (int64_t j = 0; j < 64; ++j) {
          const int64_t d = j < count ? order[begin + j] : -1;
          hit[j] = d >= 0 ? in.matched[d * W + word] : 0;
          skip[j] = d >= 0 ? in.ignored[d * W + word] : 0;
        }
        transpose_bits(hit);
        transpose_bits(skip);
        for (int64_t b = word * 64; b < std::min(flags, word * 64 + 64); ++b) {
          const uint64_t matched = hit[b - word * 64], counted = ~skip[b - word * 64] & valid;
          bits.positive[b * total + w] = counted & matched;
          bits.negative[b * total + w] = counted & ~matched;
        }
      }
    }
  });
  return bits;
}

}  // namespace mt::detection
