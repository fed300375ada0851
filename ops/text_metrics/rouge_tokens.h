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

// Hidden (not exported from the library): calls inside it are direct and
// can be inlined, not routed through the PLT.
#define MT_ROUGE_INTERNAL __attribute__((visibility("hidden")))

// Word -> value, open addressing over an arena of the words' bytes.
class MT_ROUGE_INTERNAL WordTable {
 public:
  WordTable();
  // The value of `word`, -1 when it is new (and added). Valid until the
  // next call.
  int32_t& find_or_add(std::string_view word);
  int64_t size() const { return words_; }
  void clear();

 private:
  // Open addressing; a slot keeps everything a lookup reads (one cache
  // access for a word of at most 8 bytes, which its head and length
  // determine; a longer one also compares its tail in the arena).
  struct Slot {
    uint64_t head, hash;
    uint32_t length, offset;
    int32_t value;
    bool used;
  };
  void grow();

  std::vector<Slot> slots_;
  int64_t words_ = 0;
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
class MT_ROUGE_INTERNAL RougeVocabulary {
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
