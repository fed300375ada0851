// ROUGE's tokens (rouge_score.tokenize.tokenize) as integer ids: equal ids
// for equal tokens, which is all ROUGE compares.
//
// rouge-score lowercases the text (str.lower), turns every run of characters
// other than ASCII a-z and 0-9 into a space, splits, and stems words of more
// than 3 letters. Only three kinds of character lowercase to something that
// keeps a letter: ASCII letters and digits, U+0130 (to "i" and a combining
// dot, a separator) and U+212A KELVIN SIGN (to "k"); every other character
// of any script is a separator (tests/test_rouge.py checks this claim against
// str.lower over every code point).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <torch_mt/strings.h>

namespace mt::text_metrics {

// Word -> value, open addressing over an arena of the words' bytes.
class WordTable {
 public:
  WordTable();
  // The entry of `word`, added with value -1 when new.
  int32_t find_or_add(std::string_view word);
  int32_t& value(int32_t entry) { return entries_[entry].value; }
  int64_t size() const { return static_cast<int64_t>(entries_.size()); }
  void clear();

 private:
  // A word's first 8 bytes (zero-padded) are kept inline: most words are
  // no longer, and are then compared without reading the arena.
  struct Entry {
    uint64_t hash, head;
    uint32_t offset, length;
    int32_t value;
  };
  void grow();

  std::vector<int32_t> slots_;  // entry index, or -1
  std::vector<Entry> entries_;
  std::string arena_;
};

// A text's tokens, and where its lines end (rougeLsum's sentences: the
// token count after each line that has tokens).
struct RougeTokens {
  std::vector<int32_t> ids;
  std::vector<int32_t> line_ends;
  void clear() {
    ids.clear();
    line_ends.clear();
  }
};

// Token ids for one thread: a word's id is its stem's (with stemming) and
// stays the same for the table's lifetime, so a word is stemmed once however
// often it recurs. Ids are only compared within one thread's vocabulary.
class RougeVocabulary {
 public:
  explicit RougeVocabulary(bool use_stemmer) : use_stemmer_(use_stemmer) {}

  // Tokens of item `item` of `side` into `out`; false when unreadable.
  bool tokenize(const char* op, strings::StringSide side, int64_t item, RougeTokens& out);

  // Ids are below this.
  int64_t size() const { return stems_.size(); }

  // Starts over when the vocabulary has grown past what a chunk of text
  // needs (ids then change: call only between texts that are compared).
  void bound_memory();

 private:
  bool scan_ascii(const unsigned char* text, int64_t size, RougeTokens& out);
  void scan_code_points(const int32_t* codes, int64_t size, RougeTokens& out);
  void add_word(std::string_view word, RougeTokens& out);

  bool use_stemmer_;
  WordTable words_;  // lowercase word -> token id
  WordTable stems_;  // stem -> token id (with stemming)
  std::string word_, stem_;
  std::vector<int32_t> codes_;
};

}  // namespace mt::text_metrics
