// Bit-parallel Levenshtein distance (Myers 1999, in Hyyro's 2003 notation),
// written for torch_mt from the papers: the pattern's column of the DP
// matrix is kept as vertical +1/-1 deltas in 64-bit words, so one text
// symbol costs a few word operations per 64 pattern symbols.
//
// Tokens are arbitrary integers (any int32/int64 value). A pattern's match
// masks are found either by offset into a dense table (when its tokens span
// a small range: vocabularies, characters) or by an open-addressing hash.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <torch_mt/parallel.h>

namespace mt::levenshtein {

constexpr int kWordBits = 64;

// A distance cutoff (`bound`) lets a computation stop once the distance is
// known to exceed it; the result is then some value above the bound, which
// callers cap at bound + 1. kNoCutoff is "no cutoff": larger than any
// distance, and bound + 1 still fits an int64.
constexpr int64_t kNoCutoff = INT64_MAX / 2;

// Whether a distance is sure to exceed `bound` when the last DP row is at
// `score` after `done` of `text_length` text symbols: each remaining symbol
// can lower it by at most one.
inline bool exceeds(int64_t score, int64_t done, int64_t text_length, int64_t bound) {
  return score - (text_length - done) > bound;
}

// Early exits are checked once every kCutoffStride text symbols: often
// enough to stop within a few symbols of the point where it is certain,
// rarely enough to cost nothing measurable in the loops without a cutoff.
constexpr int64_t kCutoffStride = 4;
// Dense tables cover patterns whose tokens span fewer values than this.
constexpr uint64_t kDenseRange = uint64_t{1} << 16;

// Advances one 64-row block of the DP column by one text symbol.
// `match`: rows whose pattern symbol equals the text symbol. `carry_in`: the
// horizontal delta (+1, 0, -1) entering the block's top row from the block
// above (+1 for the first block: row 0 of the DP grows by one per symbol).
// Returns the horizontal delta leaving row `score_bit` (the block's last).
// Branch-free: the carries are data-dependent and would mispredict often.
inline int advance_block(uint64_t& plus, uint64_t& minus, uint64_t match, int carry_in,
                         uint64_t score_bit) {
  const uint64_t carry_in_minus = carry_in < 0, carry_in_plus = carry_in > 0;
  const uint64_t vertical = match | minus;
  match |= carry_in_minus;
  const uint64_t diagonal = (((match & plus) + plus) ^ plus) | match;
  const uint64_t horizontal_plus = minus | ~(diagonal | plus);
  const uint64_t horizontal_minus = plus & diagonal;
  const int carry_out = static_cast<int>((horizontal_plus & score_bit) != 0) -
                        static_cast<int>((horizontal_minus & score_bit) != 0);
  const uint64_t shifted_plus = (horizontal_plus << 1) | carry_in_plus;
  const uint64_t shifted_minus = (horizontal_minus << 1) | carry_in_minus;
  plus = shifted_minus | ~(vertical | shifted_plus);
  minus = shifted_plus & vertical;
  return carry_out;
}

// A token's row in a dense table. 1- and 2-byte tokens: their unsigned bits
// (every value has a row: no range to find, no bound to check per lookup);
// wider ones: the unsigned difference from the pattern's lowest token
// (exact for tokens >= lowest, huge, so outside the table, for those below).
template <typename Token>
inline uint64_t table_index(Token token, uint64_t lowest) {
  if constexpr (sizeof(Token) <= 2) {
    return static_cast<std::make_unsigned_t<Token>>(token);
  } else {
    return static_cast<uint64_t>(token) - lowest;
  }
}

// The match mask of a token for a one-block pattern with a dense table, or 0
// for tokens outside the table's range.
struct DenseMaskLookup {
  const uint64_t* table;
  uint64_t lowest;

  template <typename Token>
  uint64_t operator()(Token token) const {
    const uint64_t index = table_index(token, lowest);
    if constexpr (sizeof(Token) <= 2) {
      return table[index];
    } else {
      return index < kDenseRange ? table[index] : 0;
    }
  }
};

// Match masks of one pattern, reusable across many texts. Owns its scratch
// memory (a 512 KiB dense table: 2^16 64-bit masks among it), so keep one per thread, call
// prepare() for each new pattern and release() before the pattern is freed.
template <typename Token>
class PatternMasks {
 public:
  void prepare(const Token* pattern, int64_t length) {
    release();
    length_ = length;
    blocks_ = (length + kWordBits - 1) / kWordBits;
    pattern_ = pattern;
    if (length == 0) {
      dense_ = false;  // no lookups: distance() answers the text's length
      masks_.clear();
      return;
    }
    set_table_range(pattern, length);
    if (dense_ && blocks_ == 1) {  // the fast path: one load per text symbol
      if (dense_masks_.size() < kDenseRange) {
        dense_masks_.assign(kDenseRange, 0);  // zero between patterns: release() restores it
      }
      // Locals: the table's uint64_t stores may alias this object's int64
      // members, which the loop would otherwise reload on every token.
      uint64_t* table = dense_masks_.data();
      const auto lowest = static_cast<uint64_t>(lowest_);
      for (int64_t i = 0; i < length; ++i) {
        table[table_index(pattern[i], lowest)] |= uint64_t{1} << i;
      }
      return;
    }
    masks_.assign(static_cast<size_t>(blocks_), 0);  // slot 0: tokens not in the pattern
    if (dense_) {
      if (dense_slots_.size() < kDenseRange) {
        dense_slots_.assign(kDenseRange, 0);  // zero between patterns: release() restores it
      }
    } else {
      size_t capacity = 16;
      while (capacity < 2 * static_cast<size_t>(length)) {
        capacity *= 2;
      }
      hash_keys_.assign(capacity, Token{});
      hash_slots_.assign(capacity, 0);
      hash_shift_ = 64 - __builtin_ctzll(capacity);
    }
    int32_t next_slot = 1;
    for (int64_t i = 0; i < length; ++i) {
      int32_t& slot = slot_of(pattern[i]);
      if (slot == 0) {
        slot = next_slot++;
        masks_.resize(masks_.size() + static_cast<size_t>(blocks_), 0);
      }
      masks_[static_cast<size_t>(slot * blocks_ + i / kWordBits)] |= uint64_t{1} << (i % kWordBits);
    }
  }

  int64_t length() const { return length_; }
  int64_t blocks() const { return blocks_; }

  // Slot of a text token: its row of masks (0 when not in the pattern).
  int32_t find(Token token) const {
    if (dense_) {
      const uint64_t offset = offset_of(token);
      return offset < kDenseRange ? dense_slots_[offset] : 0;
    }
    for (size_t at = hash_index(token);; at = (at + 1) & (hash_keys_.size() - 1)) {
      if (hash_slots_[at] == 0 || hash_keys_[at] == token) {
        return hash_slots_[at];
      }
    }
  }

  const uint64_t* masks_of(int32_t slot) const { return masks_.data() + slot * blocks_; }

  // True when one_block_lookup() applies: one block and a dense table.
  bool dense_one_block() const { return dense_ && blocks_ == 1; }
  DenseMaskLookup one_block_lookup() const {
    return {dense_masks_.data(), static_cast<uint64_t>(lowest_)};
  }

  // Match mask of a text token for a one-block pattern.
  uint64_t single_mask(Token token) const {
    return dense_ ? one_block_lookup()(token) : masks_[static_cast<size_t>(find(token))];
  }

  // Forgets the pattern, returning the dense table to all zeros by touching
  // only this pattern's entries. Call it before the pattern's memory goes.
  void release() {
    if (dense_ && pattern_ != nullptr) {
      // Locals, as in prepare(): the stores may alias this object's members.
      const Token* pattern = pattern_;
      const int64_t length = length_;
      const auto lowest = static_cast<uint64_t>(lowest_);
      if (blocks_ == 1) {
        uint64_t* table = dense_masks_.data();
        for (int64_t i = 0; i < length; ++i) {
          table[table_index(pattern[i], lowest)] = 0;
        }
      } else {
        int32_t* slots = dense_slots_.data();
        for (int64_t i = 0; i < length; ++i) {
          slots[table_index(pattern[i], lowest)] = 0;
        }
      }
    }
    pattern_ = nullptr;
  }

 private:
  // Sets lowest_ and dense_. Most patterns are characters or vocabulary ids
  // in [0, kDenseRange): one OR over the tokens shows it (it vectorises, and
  // one-pair-per-pattern batches pay this scan for every pair, so it matters:
  // a min/max scan was half of prepare()'s time). Others need the min and max.
  void set_table_range(const Token* pattern, int64_t length) {
    if constexpr (sizeof(Token) <= 2) {  // every value has its row: see table_index()
      lowest_ = 0;
      dense_ = true;
      return;
    }
    uint64_t bits = 0;
    for (int64_t i = 0; i < length; ++i) {
      bits |= static_cast<uint64_t>(pattern[i]);  // negative tokens set the top bits
    }
    if (bits < kDenseRange) {
      lowest_ = 0;
      dense_ = true;
      return;
    }
    Token low = pattern[0], high = pattern[0];
    for (int64_t i = 1; i < length; ++i) {
      low = std::min(low, pattern[i]);
      high = std::max(high, pattern[i]);
    }
    lowest_ = low;
    // Unsigned difference: exact for any two int64 values with high >= low.
    dense_ = static_cast<uint64_t>(high) - static_cast<uint64_t>(low) < kDenseRange;
  }

  uint64_t offset_of(Token token) const {
    return table_index(token, static_cast<uint64_t>(lowest_));
  }

  int32_t& slot_of(Token token) {
    if (dense_) {
      return dense_slots_[offset_of(token)];
    }
    size_t at = hash_index(token);
    while (hash_slots_[at] != 0 && hash_keys_[at] != token) {
      at = (at + 1) & (hash_keys_.size() - 1);
    }
    hash_keys_[at] = token;
    return hash_slots_[at];
  }

  size_t hash_index(Token token) const {
    return static_cast<size_t>((static_cast<uint64_t>(token) * 0x9E3779B97F4A7C15ull) >>
                               hash_shift_);
  }

  const Token* pattern_ = nullptr;
  int64_t length_ = 0;
  int64_t blocks_ = 0;
  bool dense_ = false;
  Token lowest_{};
  std::vector<uint64_t> dense_masks_;  // one-block dense patterns: [offset] -> mask
  std::vector<int32_t> dense_slots_;   // longer dense patterns: [offset] -> slot
  std::vector<Token> hash_keys_;
  std::vector<int32_t> hash_slots_;
  int hash_shift_ = 0;
  std::vector<uint64_t> masks_;  // [slot][block]
};

// Distance between the prepared pattern and `text`, exact when it is at
// most `bound` (else some value above it); `plus`/`minus` are scratch of at
// least pattern.blocks() words.
template <typename Token>
int64_t distance(const PatternMasks<Token>& pattern, const Token* text, int64_t text_length,
                 std::vector<uint64_t>& plus, std::vector<uint64_t>& minus,
                 int64_t bound = kNoCutoff) {
  const int64_t length = pattern.length();
  if (length == 0) {
    return text_length;
  }
  int64_t score = length;  // D[m][0]
  const uint64_t last_row = uint64_t{1} << ((length - 1) % kWordBits);
  const int64_t blocks = pattern.blocks();
  if (blocks == 1) {
    uint64_t block_plus = ~uint64_t{0}, block_minus = 0;
    for (int64_t k = 0; k < text_length; ++k) {
      score += advance_block(block_plus, block_minus, pattern.single_mask(text[k]), 1, last_row);
      if ((k + 1) % kCutoffStride == 0 && exceeds(score, k + 1, text_length, bound)) {
        return score;
      }
    }
    return score;
  }
  plus.assign(static_cast<size_t>(blocks), ~uint64_t{0});
  minus.assign(static_cast<size_t>(blocks), 0);
  constexpr uint64_t kTopRow = uint64_t{1} << (kWordBits - 1);
  for (int64_t k = 0; k < text_length; ++k) {
    const uint64_t* match = pattern.masks_of(pattern.find(text[k]));
    int carry = 1;
    for (int64_t b = 0; b + 1 < blocks; ++b) {
      carry = advance_block(plus[b], minus[b], match[b], carry, kTopRow);
    }
    score += advance_block(plus[blocks - 1], minus[blocks - 1], match[blocks - 1], carry, last_row);
    if (exceeds(score, k + 1, text_length, bound)) {  // a column costs several blocks here
      return score;
    }
  }
  return score;
}

}  // namespace mt::levenshtein
