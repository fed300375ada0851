// ROUGE's tokenizer and the per-thread vocabulary behind its token ids.
#include "rouge_tokens.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>  // part of every x86-64 CPU
#endif

#include "porter_stemmer.h"

namespace mt::text_metrics {
namespace {

// Up to 8 bytes at `text`, zero-padded, assembled in a register (a
// variable-length copy through memory would stall the load that follows).
uint64_t load_padded(const char* text, size_t size) {
  if (size >= 8) {
    uint64_t chunk;
    std::memcpy(&chunk, text, 8);
    return chunk;
  }
  uint64_t chunk = 0;
  for (size_t k = 0; k < size; ++k)
    chunk |= uint64_t{static_cast<unsigned char>(text[k])} << (8 * k);
  return chunk;
}

// A word's hash, 8 bytes a step (words are short; only equality matters).
// `head`: its first 8 bytes.
uint64_t hash_word(std::string_view word, uint64_t head) {
  uint64_t hash = (0x243F6A8885A308D3ull ^ word.size() ^ head) * 0x9E3779B97F4A7C15ull;
  hash ^= hash >> 29;
  for (size_t at = 8; at < word.size(); at += 8) {
    hash = (hash ^ load_padded(word.data() + at, word.size() - at)) * 0x9E3779B97F4A7C15ull;
    hash ^= hash >> 29;
  }
  return hash;
}

// What a byte becomes: an ASCII letter's lowercase, a digit, else 0 (a
// separator; bytes past ASCII are decoded first).
constexpr std::array<char, 256> kAsciiLetters = [] {
  std::array<char, 256> letters{};
  for (int c = '0'; c <= '9'; ++c) letters[c] = static_cast<char>(c);
  for (int c = 'a'; c <= 'z'; ++c) letters[c] = static_cast<char>(c);
  for (int c = 'A'; c <= 'Z'; ++c) letters[c] = static_cast<char>(c - 'A' + 'a');
  return letters;
}();

constexpr int32_t kCapitalIWithDot = 0x130;  // lowercases to "i" + U+0307
constexpr int32_t kKelvinSign = 0x212A;      // lowercases to "k"

// Past this many distinct words a thread's vocabulary starts over (about
// 100 MB of tables; a text collection rarely has as many).
constexpr int64_t kMostWords = int64_t{1} << 22;

}  // namespace

WordTable::WordTable() { slots_.assign(1024, Slot{}); }

// inline: called per word from this file only.
inline int32_t& WordTable::find_or_add(std::string_view word) {
  const uint64_t head = load_padded(word.data(), word.size()), hash = hash_word(word, head);
  if (2 * (words_ + 1) > static_cast<int64_t>(slots_.size())) grow();
  const size_t mask = slots_.size() - 1;
  const auto length = static_cast<uint32_t>(word.size());
  for (size_t index = hash & mask;; index = (index + 1) & mask) {
    Slot& slot = slots_[index];
    if (!slot.used) {
      slot = {head, hash, length, static_cast<uint32_t>(arena_.size()), -1, true};
      if (length > 8) arena_.append(word);  // only tails are ever compared
      ++words_;
      return slot.value;
    }
    if (slot.head == head && slot.length == length &&
        (length <= 8 || (slot.hash == hash && std::memcmp(arena_.data() + slot.offset + 8,
                                                          word.data() + 8, length - 8) == 0))) {
      return slot.value;
    }
  }
}

void WordTable::grow() {
  std::vector<Slot> old(2 * slots_.size(), Slot{});
  old.swap(slots_);
  const size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (!slot.used) continue;
    size_t index = slot.hash & mask;
    while (slots_[index].used) index = (index + 1) & mask;
    slots_[index] = slot;
  }
}

void WordTable::clear() {
  slots_.assign(1024, Slot{});
  words_ = 0;
  arena_.clear();
}

void RougeVocabulary::bound_memory() {
  if (words_.size() + stems_.size() < kMostWords) return;
  words_.clear();
  stems_.clear();
}

// A word ends: its id joins the tokens. inline: see find_or_add.
inline void RougeVocabulary::add_word(std::string_view word, RougeTokens& out) {
  int32_t& id = words_.find_or_add(word);
  if (id < 0) {
    if (use_stemmer_ && word.size() > 3) {
      porter_stem(word, stem_);
    } else {
      stem_.assign(word);
    }
    // Stems share one id space whether or not the word was stemmed: "runs"
    // stems to "run", which must equal the unstemmed 3-letter "run".
    int32_t& stem_id = stems_.find_or_add(stem_);  // another table: `id` stays valid
    if (stem_id < 0) stem_id = static_cast<int32_t>(stems_.size() - 1);
    id = stem_id;
  }
  out.ids.push_back(id);
}

namespace {
// rougeLsum's line ends: the token count when a line with tokens ends.
void end_line(RougeTokens& out) {
  const auto tokens = static_cast<int32_t>(out.ids.size());
  if (tokens > (out.line_ends.empty() ? 0 : out.line_ends.back())) out.line_ends.push_back(tokens);
}
}  // namespace

namespace {

// One 16-byte chunk's masks: letters and digits, capitals, newlines, and
// bytes past ASCII.
struct ChunkMasks {
  uint32_t alnum, capitals, newlines, high;
};

#if defined(__SSE2__)
// c in [low, low + 25] for every byte at once: SSE2 compares only signed
// bytes, so shift the range to start at -128.
inline __m128i in_range(__m128i bytes, char low, int count) {
  const __m128i shifted = _mm_add_epi8(bytes, _mm_set1_epi8(static_cast<char>(-128 - low)));
  return _mm_cmplt_epi8(shifted, _mm_set1_epi8(static_cast<char>(-128 + count)));
}

inline ChunkMasks chunk_masks(const unsigned char* bytes) {
  const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes));
  const __m128i lower = _mm_or_si128(chunk, _mm_set1_epi8(0x20));
  const __m128i alnum = _mm_or_si128(in_range(lower, 'a', 26), in_range(chunk, '0', 10));
  return {static_cast<uint32_t>(_mm_movemask_epi8(alnum)),
          static_cast<uint32_t>(_mm_movemask_epi8(in_range(chunk, 'A', 26))),
          static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, _mm_set1_epi8('\n')))),
          static_cast<uint32_t>(_mm_movemask_epi8(chunk))};
}
#else
inline ChunkMasks chunk_masks(const unsigned char* bytes) {
  ChunkMasks masks{0, 0, 0, 0};
  for (int k = 0; k < 16; ++k) {
    const unsigned char c = bytes[k];
    masks.alnum |= uint32_t{kAsciiLetters[c] != 0} << k;
    masks.capitals |= uint32_t{c >= 'A' && c <= 'Z'} << k;
    masks.newlines |= uint32_t{c == '\n'} << k;
    masks.high |= uint32_t{c >= 128} << k;
  }
  return masks;
}
#endif

// One 64-byte block's masks (bytes past the text's end are zero: they
// separate and are no newline).
inline ChunkMasks block_masks(const unsigned char* text, int64_t size, int64_t block,
                              uint64_t masks[3]) {
  masks[0] = masks[1] = masks[2] = 0;
  uint32_t high = 0;
  for (int part = 0; part < 4; ++part) {
    const int64_t at = block + 16 * part;
    if (at >= size) break;
    ChunkMasks chunk;
    if (at + 16 <= size) {
      chunk = chunk_masks(text + at);
    } else {
      unsigned char tail[16] = {};
      std::memcpy(tail, text + at, static_cast<size_t>(size - at));
      chunk = chunk_masks(tail);
    }
    masks[0] |= uint64_t{chunk.alnum} << (16 * part);
    masks[1] |= uint64_t{chunk.capitals} << (16 * part);
    masks[2] |= uint64_t{chunk.newlines} << (16 * part);
    high |= chunk.high;
  }
  return {0, 0, 0, high};
}

// Bits [from, 64) of a block.
inline uint64_t from_bit(int from) { return from >= 64 ? 0 : ~uint64_t{0} << from; }

}  // namespace

// The common case, ASCII bytes, 64 at a time: each block's bytes are
// classified 16 at a time into bit masks, and words (runs of letters and
// digits) are found from the masks, one step a word rather than a branch a
// character. A word is read in place unless it has capitals. False when a
// byte is past ASCII.
bool RougeVocabulary::scan_ascii(const unsigned char* text, int64_t size, RougeTokens& out) {
  int64_t word_start = -1;  // a word open across a block's end
  bool word_capitals = false, newline_before = false;
  const auto add = [&](int64_t start, int64_t end, bool capitals) {
    if (newline_before) end_line(out);
    newline_before = false;
    const std::string_view word(reinterpret_cast<const char*>(text + start), end - start);
    if (!capitals) return add_word(word, out);
    word_.resize(word.size());
    for (size_t k = 0; k < word.size(); ++k) {
      word_[k] = kAsciiLetters[static_cast<unsigned char>(word[k])];
    }
    add_word(word_, out);
  };
  for (int64_t block = 0; block < size; block += 64) {
    uint64_t masks[3];
    if (block_masks(text, size, block, masks).high != 0) return false;
    const uint64_t alnum = masks[0], capitals = masks[1], newlines = masks[2];
    int at = 0;
    while (at < 64) {
      if (word_start < 0) {  // between words: find the next start
        const uint64_t starts = alnum & from_bit(at);
        const int start = starts == 0 ? 64 : std::countr_zero(starts);
        newline_before = newline_before || (newlines & from_bit(at) & ~from_bit(start)) != 0;
        if (start == 64) break;
        word_start = block + start;
        word_capitals = false;
        at = start;
      }
      const uint64_t ends = ~alnum & from_bit(at);  // inside a word: find its end
      const int end = ends == 0 ? 64 : std::countr_zero(ends);
      word_capitals = word_capitals || (capitals & from_bit(at) & ~from_bit(end)) != 0;
      if (end == 64) break;  // it goes on in the next block
      add(word_start, block + end, word_capitals);
      word_start = -1;
      at = end;
    }
  }
  if (word_start >= 0) add(word_start, size, word_capitals);
  end_line(out);
  return true;
}

// Any text, as code points.
void RougeVocabulary::scan_code_points(const int32_t* codes, int64_t size, RougeTokens& out) {
  word_.clear();
  const auto end_word = [&] {
    if (!word_.empty()) add_word(word_, out);
    word_.clear();
  };
  for (int64_t i = 0; i < size; ++i) {
    const int32_t c = codes[i];
    if (c < 128 && kAsciiLetters[c] != 0) {
      word_.push_back(kAsciiLetters[c]);
    } else if (c == kKelvinSign) {
      word_.push_back('k');
    } else {
      if (c == kCapitalIWithDot) word_.push_back('i');  // then the dot: a separator
      end_word();
      if (c == '\n') end_line(out);
    }
  }
  end_word();
  end_line(out);
}

bool RougeVocabulary::tokenize(const char* op, strings::StringSide side, int64_t item,
                               RougeTokens& out) {
  out.clear();
  const strings::StringView view = side.read(side.items, item);
  if (view.unit_bytes == strings::kUnreadable) return false;
  // UTF-8 (str[]) or one byte a code point (Python's compact str): ASCII is
  // the same bytes either way.
  if ((view.unit_bytes == strings::kUtf8 || view.unit_bytes == 1) &&
      scan_ascii(static_cast<const unsigned char*>(view.data), view.length, out)) {
    return true;
  }
  // Not ASCII: decode (checking UTF-8) and scan code points.
  out.clear();
  codes_.clear();
  strings::append_code_points(op, view, side.name, item, codes_);
  scan_code_points(codes_.data(), static_cast<int64_t>(codes_.size()), out);
  return true;
}

}  // namespace mt::text_metrics
