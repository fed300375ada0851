// sacrebleu's tokenizers, on code points: BLEU's 13a, none, char and intl,
// TER's Tercom normaliser, and chrF's characters and words. Each gives the
// tokens that sacrebleu's `tokenized_line.split()` gives, bit for bit (the
// rules, pass by pass, are in docs/ops/text_metrics.md).
//
// Only standard headers: the Python bindings compile the family's headers too.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace mt::text_metrics {

enum class BleuTokenizer { k13a, kNone, kChar, kIntl };

// sacrebleu's name of a tokenizer, or nullopt for one not supported here.
std::optional<BleuTokenizer> parse_bleu_tokenizer(std::string_view name);
inline constexpr const char* kBleuTokenizers = "'13a', 'none', 'char', 'intl'";

struct TerOptions {
  bool normalized = false;
  bool no_punct = false;
  bool asian_support = false;
  bool case_sensitive = false;
};

// Tokens as spans [start, start + length) of `text` (the processed line).
struct Tokens {
  std::vector<int32_t> text;
  std::vector<int32_t> starts;
  std::vector<int32_t> lengths;

  int64_t size() const { return static_cast<int64_t>(starts.size()); }
  void clear() {
    text.clear();
    starts.clear();
    lengths.clear();
  }
};

// Per-thread buffers the passes ping-pong between (reused across sentences).
struct TokenizerScratch {
  std::vector<int32_t> a, b;
};

// BLEU: `lowercase` (str.lower), then rstrip, then the tokenizer, split.
void bleu_tokens(const std::vector<int32_t>& codes, BleuTokenizer tokenizer, bool lowercase,
                 TokenizerScratch& scratch, Tokens& out);

// TER: rstrip, then TercomTokenizer (lowercase unless case_sensitive,
// normalisation, punctuation removal), split.
void ter_tokens(const std::vector<int32_t>& codes, const TerOptions& options,
                TokenizerScratch& scratch, Tokens& out);

// chrF's characters: the line (lowercased when asked) with its whitespace
// removed, or whole when `whitespace`.
void chrf_characters(const std::vector<int32_t>& codes, bool lowercase, bool whitespace,
                     TokenizerScratch& scratch, std::vector<int32_t>& out);

// chrF++'s words: the (lowercased) line split, with one ASCII punctuation
// mark split off the end of a word, else off its start (sacrebleu's
// _remove_punctuation).
void chrf_words(const std::vector<int32_t>& codes, bool lowercase, TokenizerScratch& scratch,
                Tokens& out);

}  // namespace mt::text_metrics
