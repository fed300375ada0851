// sacrebleu's tokenizers, pass by pass. Each regular expression of sacrebleu
// is a pass here that scans the line once, left to right, and makes the
// same non-overlapping matches re.sub makes: the patterns are one character
// or two fixed characters, so a match at position i consumes i (and i + 1)
// and the scan resumes after it.
#include "tokenize.h"

#include <algorithm>
#include <initializer_list>

#include "unicode.h"

namespace mt::text_metrics {
namespace {

using Codes = std::vector<int32_t>;

void rstrip(Codes& line) {
  while (!line.empty() && unicode::is_space(static_cast<uint32_t>(line.back()))) {
    line.pop_back();
  }
}

// Python's str.replace(pattern, replacement): non-overlapping, left to right.
void replace_all(const Codes& in, std::u32string_view pattern, std::u32string_view replacement,
                 Codes& out) {
  out.clear();
  const size_t n = in.size(), m = pattern.size();
  size_t i = 0;
  while (i < n) {
    if (i + m <= n && static_cast<uint32_t>(in[i]) == pattern[0] &&
        std::equal(pattern.begin(), pattern.end(), in.begin() + static_cast<ptrdiff_t>(i),
                   [](char32_t p, int32_t c) { return static_cast<uint32_t>(c) == p; })) {
      out.insert(out.end(), replacement.begin(), replacement.end());
      i += m;
    } else {
      out.push_back(in[i++]);
    }
  }
}

// Replacements applied one after another on `line` (each a full pass, as
// chained str.replace calls are), ping-ponging with `spare`.
void replace_each(
    Codes& line, Codes& spare,
    std::initializer_list<std::pair<std::u32string_view, std::u32string_view>> rules) {
  for (const auto& [pattern, replacement] : rules) {
    if (std::search(line.begin(), line.end(), pattern.begin(), pattern.end(),
                    [](int32_t c, char32_t p) { return static_cast<uint32_t>(c) == p; }) ==
        line.end()) {
      continue;  // nothing to replace: the line is unchanged
    }
    replace_all(line, pattern, replacement, spare);
    line.swap(spare);
  }
}

// re.sub(r"(class)", r" \1 ", line): a space either side of every match.
template <typename InClass>
void pad(Codes& line, Codes& spare, InClass in_class) {
  spare.clear();
  for (const int32_t code : line) {
    if (in_class(static_cast<uint32_t>(code))) {
      spare.push_back(' ');
      spare.push_back(code);
      spare.push_back(' ');
    } else {
      spare.push_back(code);
    }
  }
  line.swap(spare);
}

// re.sub(r"(A)(B)", r"\1 \2 ", line) (space_after) or r" \1 \2" (space
// before): two-character matches, non-overlapping, left to right.
template <typename First, typename Second>
void pair_pass(Codes& line, Codes& spare, First first, Second second, bool space_before) {
  spare.clear();
  const size_t n = line.size();
  size_t i = 0;
  while (i < n) {
    if (i + 1 < n && first(static_cast<uint32_t>(line[i])) &&
        second(static_cast<uint32_t>(line[i + 1]))) {
      if (space_before) {  // " \1 \2"
        spare.push_back(' ');
        spare.push_back(line[i]);
        spare.push_back(' ');
        spare.push_back(line[i + 1]);
      } else {  // "\1 \2 "
        spare.push_back(line[i]);
        spare.push_back(' ');
        spare.push_back(line[i + 1]);
        spare.push_back(' ');
      }
      i += 2;
    } else {
      spare.push_back(line[i++]);
    }
  }
  line.swap(spare);
}

// 13a's and Tercom's punctuation class: [\{-\~\[-\` -\&\(-\+\:-\@\/].
// Character classes as lambdas, not functions: each is its own type, so the
// pass templates inline them (a function pointer would be an indirect call
// per character).
constexpr auto western_punctuation = [](uint32_t c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
         (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
};
constexpr auto period_or_comma = [](uint32_t c) { return c == '.' || c == ','; };
constexpr auto not_digit = [](uint32_t c) { return !unicode::is_ascii_digit(c); };
constexpr auto digit = [](uint32_t c) { return unicode::is_ascii_digit(c); };
constexpr auto dash = [](uint32_t c) { return c == '-'; };
constexpr auto punctuation = [](uint32_t c) { return unicode::is_punctuation(c); };
constexpr auto symbol = [](uint32_t c) { return unicode::is_symbol(c); };

void surround_with_spaces(Codes& line, Codes& spare) {
  spare.clear();
  spare.push_back(' ');
  spare.insert(spare.end(), line.begin(), line.end());
  spare.push_back(' ');
  line.swap(spare);
}

// str.split(): the non-empty runs between whitespace.
void split(Codes& line, Tokens& out) {
  out.clear();
  out.text.swap(line);
  const auto n = static_cast<int32_t>(out.text.size());
  int32_t i = 0;
  while (i < n) {
    while (i < n && unicode::is_space(static_cast<uint32_t>(out.text[i]))) {
      ++i;
    }
    const int32_t start = i;
    while (i < n && !unicode::is_space(static_cast<uint32_t>(out.text[i]))) {
      ++i;
    }
    if (i > start) {
      out.starts.push_back(start);
      out.lengths.push_back(i - start);
    }
  }
}

void copy_or_lower(const Codes& codes, bool lowercase, Codes& out) {
  if (lowercase) {
    unicode::lower(codes, out);
  } else {
    out.assign(codes.begin(), codes.end());
  }
}

// Tercom's Asian classes: CJK ideographs, strokes, radicals, compatibility
// forms, enclosed letters, and CJK and full-width punctuation.
bool asian_character(uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x31C0 && c <= 0x31EF) || (c >= 0x2E80 && c <= 0x2EFF) ||
         (c >= 0x3300 && c <= 0x33FF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0x3200 && c <= 0x3F22);
}
bool asian_punctuation(uint32_t c) {
  return c == 0x3001 || c == 0x3002 || (c >= 0x3008 && c <= 0x3011) ||
         (c >= 0x3014 && c <= 0x301F) || (c >= 0xFF61 && c <= 0xFF65) || c == 0x30FB;
}
bool full_width_punctuation(uint32_t c) {
  switch (c) {
    case 0xFF0E:
    case 0xFF0C:
    case 0xFF1F:
    case 0xFF1A:
    case 0xFF1B:
    case 0xFF01:
    case 0xFF02:
    case 0xFF08:
    case 0xFF09: return true;
    default: return false;
  }
}

template <typename Drop>
void remove_if(Codes& line, Drop drop) {
  line.erase(std::remove_if(line.begin(), line.end(),
                            [&](int32_t c) { return drop(static_cast<uint32_t>(c)); }),
             line.end());
}

}  // namespace

std::optional<BleuTokenizer> parse_bleu_tokenizer(std::string_view name) {
  if (name == "13a") return BleuTokenizer::k13a;
  if (name == "none") return BleuTokenizer::kNone;
  if (name == "char") return BleuTokenizer::kChar;
  if (name == "intl") return BleuTokenizer::kIntl;
  return std::nullopt;
}

void bleu_tokens(const Codes& codes, BleuTokenizer tokenizer, bool lowercase,
                 TokenizerScratch& scratch, Tokens& out) {
  Codes& line = scratch.a;
  Codes& spare = scratch.b;
  copy_or_lower(codes, lowercase, line);
  rstrip(line);
  switch (tokenizer) {
    case BleuTokenizer::kNone: break;
    case BleuTokenizer::kChar:
      // " ".join(line): every character its own token once split.
      pad(line, spare, [](uint32_t) { return true; });
      break;
    case BleuTokenizer::k13a: {
      // Passes that cannot change the line are skipped: one scan says which
      // characters they look for are there at all.
      bool angle_or_newline = false, ampersand = false, period_or_comma_seen = false,
           dash_seen = false;
      for (const int32_t c : line) {
        angle_or_newline |= c == '<' || c == '\n';
        ampersand |= c == '&';
        period_or_comma_seen |= c == '.' || c == ',';
        dash_seen |= c == '-';
      }
      if (angle_or_newline) {
        replace_each(line, spare, {{U"<skipped>", U""}, {U"-\n", U""}, {U"\n", U" "}});
      }
      if (ampersand) {
        replace_each(line, spare,
                     {{U"&quot;", U"\""}, {U"&amp;", U"&"}, {U"&lt;", U"<"}, {U"&gt;", U">"}});
      }
      surround_with_spaces(line, spare);
      pad(line, spare, western_punctuation);
      if (period_or_comma_seen) {  // entities never make one
        pair_pass(line, spare, not_digit, period_or_comma, false);
        pair_pass(line, spare, period_or_comma, not_digit, true);
      }
      if (dash_seen) {
        pair_pass(line, spare, digit, dash, false);
      }
      break;
    }
    case BleuTokenizer::kIntl: {
      const auto not_number = [](uint32_t c) { return !unicode::is_number(c); };
      pair_pass(line, spare, not_number, punctuation, false);
      pair_pass(line, spare, punctuation, not_number, true);
      pad(line, spare, symbol);
      break;
    }
  }
  split(line, out);
}

void ter_tokens(const Codes& codes, const TerOptions& options, TokenizerScratch& scratch,
                Tokens& out) {
  Codes& line = scratch.a;
  Codes& spare = scratch.b;
  line.assign(codes.begin(), codes.end());
  rstrip(line);
  if (!line.empty()) {
    if (!options.case_sensitive) {
      unicode::lower(line, spare);
      line.swap(spare);
    }
    if (options.normalized) {
      replace_each(line, spare,
                   {{U"\n-", U""},
                    {U"\n", U" "},
                    {U"&quot;", U"\""},
                    {U"&amp;", U"&"},
                    {U"&lt;", U"<"},
                    {U"&gt;", U">"}});
      surround_with_spaces(line, spare);
      pad(line, spare, western_punctuation);
      // Possessives: "'s " -> " 's ". (Tercom's "'s$" never matches here:
      // the line ends in the space added above.)
      replace_each(line, spare, {{U"'s ", U" 's "}});
      pair_pass(line, spare, not_digit, period_or_comma, false);
      pair_pass(line, spare, period_or_comma, not_digit, true);
      pair_pass(line, spare, digit, dash, false);
      if (options.asian_support) {
        // Each of Tercom's Asian passes pads one class with spaces; its kana
        // passes match only a line made wholly of kana, which a line that
        // starts with the space above never is.
        pad(line, spare, [](uint32_t c) {
          return asian_character(c) || asian_punctuation(c) || full_width_punctuation(c);
        });
      }
    }
    if (options.no_punct) {
      remove_if(line, [](uint32_t c) {
        switch (c) {
          case '.':
          case ',':
          case '?':
          case ':':
          case ';':
          case '!':
          case '"':
          case '(':
          case ')': return true;
          default: return false;
        }
      });
      if (options.asian_support) {
        remove_if(line,
                  [](uint32_t c) { return asian_punctuation(c) || full_width_punctuation(c); });
      }
    }
  }
  split(line, out);
}

void chrf_characters(const Codes& codes, bool lowercase, bool whitespace, TokenizerScratch& scratch,
                     Codes& out) {
  if (whitespace) {
    copy_or_lower(codes, lowercase, out);
    return;
  }
  copy_or_lower(codes, lowercase, scratch.a);
  out.clear();
  for (const int32_t code : scratch.a) {
    if (!unicode::is_space(static_cast<uint32_t>(code))) {
      out.push_back(code);
    }
  }
}

void chrf_words(const Codes& codes, bool lowercase, TokenizerScratch& scratch, Tokens& out) {
  copy_or_lower(codes, lowercase, scratch.a);
  split(scratch.a, out);
  // string.punctuation, as sacrebleu's CHRF._PUNCTS.
  const auto ascii_punctuation = [](int32_t c) {
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
           (c >= '{' && c <= '~');
  };
  const auto count = out.size();
  std::vector<int32_t> starts, lengths;
  starts.reserve(static_cast<size_t>(count) + 4);
  lengths.reserve(static_cast<size_t>(count) + 4);
  for (int64_t k = 0; k < count; ++k) {
    const int32_t start = out.starts[k], length = out.lengths[k];
    if (length > 1 && ascii_punctuation(out.text[start + length - 1])) {
      starts.insert(starts.end(), {start, start + length - 1});
      lengths.insert(lengths.end(), {length - 1, 1});
    } else if (length > 1 && ascii_punctuation(out.text[start])) {
      starts.insert(starts.end(), {start, start + 1});
      lengths.insert(lengths.end(), {1, length - 1});
    } else {
      starts.push_back(start);
      lengths.push_back(length);
    }
  }
  out.starts.swap(starts);
  out.lengths.swap(lengths);
}

}  // namespace mt::text_metrics
