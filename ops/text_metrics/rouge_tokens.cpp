// ROUGE's tokenizer and the per-thread vocabulary behind its token ids.
#include "rouge_tokens.h"

#include <algorithm>
#include <array>
#include <cstring>

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

WordTable::WordTable() { slots_.assign(1024, -1); }

// inline: called per word from this file only (an exported member would be
// called through the PLT).
inline int32_t WordTable::find_or_add(std::string_view word) {
  const uint64_t head = load_padded(word.data(), word.size()), hash = hash_word(word, head);
  if (2 * (entries_.size() + 1) > slots_.size()) grow();
  const size_t mask = slots_.size() - 1;
  for (size_t slot = hash & mask;; slot = (slot + 1) & mask) {
    const int32_t index = slots_[slot];
    if (index < 0) {
      slots_[slot] = static_cast<int32_t>(entries_.size());
      entries_.push_back({hash, head, static_cast<uint32_t>(arena_.size()),
                          static_cast<uint32_t>(word.size()), -1});
      arena_.append(word);
      return slots_[slot];
    }
    const Entry& entry = entries_[index];
    if (entry.hash == hash && entry.head == head && entry.length == word.size() &&
        (word.size() <= 8 ||
         std::memcmp(arena_.data() + entry.offset + 8, word.data() + 8, word.size() - 8) == 0)) {
      return index;
    }
  }
}

void WordTable::grow() {
  slots_.assign(2 * slots_.size(), -1);
  const size_t mask = slots_.size() - 1;
  for (size_t index = 0; index < entries_.size(); ++index) {
    size_t slot = entries_[index].hash & mask;
    while (slots_[slot] >= 0) slot = (slot + 1) & mask;
    slots_[slot] = static_cast<int32_t>(index);
  }
}

void WordTable::clear() {
  slots_.assign(1024, -1);
  entries_.clear();
  arena_.clear();
}

void RougeVocabulary::bound_memory() {
  if (words_.size() + stems_.size() < kMostWords) return;
  words_.clear();
  stems_.clear();
}

// A word ends: its id joins the tokens. inline: see find_or_add.
inline void RougeVocabulary::add_word(std::string_view word, RougeTokens& out) {
  const int32_t entry = words_.find_or_add(word);
  int32_t id = words_.value(entry);
  if (id < 0) {
    if (use_stemmer_ && word.size() > 3) {
      porter_stem(word, stem_);
    } else {
      stem_.assign(word);
    }
    // Stems share one id space whether or not the word was stemmed: "runs"
    // stems to "run", which must equal the unstemmed 3-letter "run".
    const int32_t stem_entry = stems_.find_or_add(stem_);
    int32_t& stem_id = stems_.value(stem_entry);
    if (stem_id < 0) stem_id = static_cast<int32_t>(stems_.size() - 1);
    id = stem_id;
    words_.value(entry) = id;
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

// The common case, ASCII bytes: a word is a run of letters and digits, read
// in place unless it has capitals. False at the first byte past ASCII.
bool RougeVocabulary::scan_ascii(const unsigned char* text, int64_t size, RougeTokens& out) {
  int64_t i = 0;
  while (i < size) {
    const unsigned char c = text[i];
    if (kAsciiLetters[c] == 0) {
      if (c >= 128) return false;
      if (c == '\n') end_line(out);
      ++i;
      continue;
    }
    const int64_t start = i;
    bool capitals = false;
    for (; i < size && kAsciiLetters[text[i]] != 0; ++i) {
      capitals |= kAsciiLetters[text[i]] != static_cast<char>(text[i]);
    }
    const std::string_view word(reinterpret_cast<const char*>(text + start), i - start);
    if (!capitals) {
      add_word(word, out);
      continue;
    }
    word_.resize(word.size());
    for (size_t k = 0; k < word.size(); ++k) {
      word_[k] = kAsciiLetters[static_cast<unsigned char>(word[k])];
    }
    add_word(word_, out);
  }
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
