// NLTK's PorterStemmer (mode NLTK_EXTENSIONS), step by step as nltk/stem/porter.py
// writes it. The rule tables keep NLTK's order: the first rule whose suffix
// matches decides, and when its condition fails the word is left as it is
// (later rules are not tried), exactly as NLTK's _apply_rule_list does.
#include "porter_stemmer.h"

#include <array>
#include <cstddef>

namespace mt::text_metrics {
namespace {

using std::string_view;

bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

// The paper's consonant: not a vowel, and a 'y' only when the letter before
// it is not a consonant (a 'y' that starts the word is one).
bool is_consonant(string_view word, size_t i) {
  if (is_vowel(word[i])) return false;
  if (word[i] != 'y') return true;
  return i == 0 || !is_consonant(word, i - 1);
}

// m in [C](VC){m}[V]: the number of vowel-to-consonant changes.
int measure(string_view stem) {
  int m = 0;
  bool previous_consonant = true;
  for (size_t i = 0; i < stem.size(); ++i) {
    // One pass: a 'y' is a consonant iff the previous letter is not.
    const char c = stem[i];
    const bool consonant = is_vowel(c) ? false : c == 'y' ? (i == 0 || !previous_consonant) : true;
    if (consonant && i > 0 && !previous_consonant) ++m;
    previous_consonant = consonant;
  }
  return m;
}

bool contains_vowel(string_view stem) {
  for (size_t i = 0; i < stem.size(); ++i) {
    if (!is_consonant(stem, i)) return true;
  }
  return false;
}

// *d: ends with a double consonant.
bool ends_double_consonant(string_view word) {
  const size_t n = word.size();
  return n >= 2 && word[n - 1] == word[n - 2] && is_consonant(word, n - 1);
}

// *o: ends consonant-vowel-consonant, the last not w, x or y; NLTK also
// counts a two-letter vowel-consonant word.
bool ends_cvc(string_view word) {
  const size_t n = word.size();
  if (n >= 3) {
    const char last = word[n - 1];
    return is_consonant(word, n - 3) && !is_consonant(word, n - 2) && is_consonant(word, n - 1) &&
           last != 'w' && last != 'x' && last != 'y';
  }
  return n == 2 && !is_consonant(word, 0) && is_consonant(word, 1);
}

bool ends_with(string_view word, string_view suffix) {
  return word.size() >= suffix.size() && word.substr(word.size() - suffix.size()) == suffix;
}

void replace_suffix(std::string& word, size_t suffix_length, string_view replacement) {
  word.resize(word.size() - suffix_length);
  word.append(replacement);
}

enum class Condition { kNone, kMeasureAbove0, kMeasureAbove1, kLogi, kIonStem };

struct Rule {
  string_view suffix, replacement;
  Condition condition;
};

bool holds(Condition condition, string_view stem, string_view word) {
  switch (condition) {
    case Condition::kNone: return true;
    case Condition::kMeasureAbove0: return measure(stem) > 0;
    case Condition::kMeasureAbove1: return measure(stem) > 1;
    case Condition::kLogi:  // NLTK tests the word less "ogi", keeping the 'l'
      return measure(word.substr(0, word.size() - 3)) > 0;
    case Condition::kIonStem:
      return measure(stem) > 1 && (stem.back() == 's' || stem.back() == 't');
  }
  return false;
}

// _apply_rule_list without the "*d" and "" rules (step 1b spells those out).
template <size_t kCount>
void apply_rules(std::string& word, const std::array<Rule, kCount>& rules) {
  for (const Rule& rule : rules) {
    if (!ends_with(word, rule.suffix)) continue;
    const string_view stem = string_view(word).substr(0, word.size() - rule.suffix.size());
    if (holds(rule.condition, stem, word))
      replace_suffix(word, rule.suffix.size(), rule.replacement);
    return;
  }
}

constexpr auto m0 = Condition::kMeasureAbove0;
constexpr auto m1 = Condition::kMeasureAbove1;

void step1a(std::string& word) {
  if (ends_with(word, "ies") && word.size() == 4) return replace_suffix(word, 3, "ie");
  static constexpr std::array<Rule, 4> kRules{{
      {"sses", "ss", Condition::kNone},
      {"ies", "i", Condition::kNone},
      {"ss", "ss", Condition::kNone},
      {"s", "", Condition::kNone},
  }};
  apply_rules(word, kRules);
}

void step1b(std::string& word) {
  if (ends_with(word, "ied")) return replace_suffix(word, 3, word.size() == 4 ? "ie" : "i");
  if (ends_with(word, "eed")) {
    if (measure(string_view(word).substr(0, word.size() - 3)) > 0) replace_suffix(word, 3, "ee");
    return;
  }
  size_t removed = 0;
  for (const string_view suffix : {string_view("ed"), string_view("ing")}) {
    if (ends_with(word, suffix) &&
        contains_vowel(string_view(word).substr(0, word.size() - suffix.size()))) {
      removed = suffix.size();
      break;
    }
  }
  if (removed == 0) return;
  word.resize(word.size() - removed);
  // The rules on the stem left: AT, BL, IZ get their E back; a double
  // consonant but l, s, z loses one letter; (m=1 and *o) gains an E.
  if (ends_with(word, "at") || ends_with(word, "bl") || ends_with(word, "iz")) {
    word.push_back('e');
  } else if (ends_double_consonant(word)) {
    const char last = word.back();
    if (last != 'l' && last != 's' && last != 'z') word.pop_back();
  } else if (measure(word) == 1 && ends_cvc(word)) {
    word.push_back('e');
  }
}

// NLTK's Y -> I: only after a consonant, and not when that consonant is the
// whole stem.
void step1c(std::string& word) {
  if (!ends_with(word, "y")) return;
  const string_view stem = string_view(word).substr(0, word.size() - 1);
  if (stem.size() > 1 && is_consonant(stem, stem.size() - 1)) word.back() = 'i';
}

void step2(std::string& word) {
  // NLTK: ALLI -> AL first, then step 2 again on the result.
  if (ends_with(word, "alli") && measure(string_view(word).substr(0, word.size() - 4)) > 0) {
    replace_suffix(word, 4, "al");
    return step2(word);
  }
  static constexpr std::array<Rule, 22> kRules{{
      {"ational", "ate", m0}, {"tional", "tion", m0},
      {"enci", "ence", m0},   {"anci", "ance", m0},
      {"izer", "ize", m0},    {"bli", "ble", m0},
      {"alli", "al", m0},     {"entli", "ent", m0},
      {"eli", "e", m0},       {"ousli", "ous", m0},
      {"ization", "ize", m0}, {"ation", "ate", m0},
      {"ator", "ate", m0},    {"alism", "al", m0},
      {"iveness", "ive", m0}, {"fulness", "ful", m0},
      {"ousness", "ous", m0}, {"aliti", "al", m0},
      {"iviti", "ive", m0},   {"biliti", "ble", m0},
      {"fulli", "ful", m0},   {"logi", "log", Condition::kLogi},
  }};
  apply_rules(word, kRules);
}

void step3(std::string& word) {
  static constexpr std::array<Rule, 7> kRules{{
      {"icate", "ic", m0},
      {"ative", "", m0},
      {"alize", "al", m0},
      {"iciti", "ic", m0},
      {"ical", "ic", m0},
      {"ful", "", m0},
      {"ness", "", m0},
  }};
  apply_rules(word, kRules);
}

void step4(std::string& word) {
  static constexpr std::array<Rule, 19> kRules{{
      {"al", "", m1},    {"ance", "", m1}, {"ence", "", m1}, {"er", "", m1},
      {"ic", "", m1},    {"able", "", m1}, {"ible", "", m1}, {"ant", "", m1},
      {"ement", "", m1}, {"ment", "", m1}, {"ent", "", m1},  {"ion", "", Condition::kIonStem},
      {"ou", "", m1},    {"ism", "", m1},  {"ate", "", m1},  {"iti", "", m1},
      {"ous", "", m1},   {"ive", "", m1},  {"ize", "", m1},
  }};
  apply_rules(word, kRules);
}

void step5a(std::string& word) {
  if (!ends_with(word, "e")) return;
  const string_view stem = string_view(word).substr(0, word.size() - 1);
  const int m = measure(stem);
  if (m > 1 || (m == 1 && !ends_cvc(stem))) word.pop_back();
}

void step5b(std::string& word) {
  if (ends_with(word, "ll") && measure(string_view(word).substr(0, word.size() - 1)) > 1) {
    word.pop_back();
  }
}

// NLTK's pool of irregular forms: these stem to the given word, no rule runs.
string_view irregular_stem(string_view word) {
  static constexpr std::array<std::pair<string_view, string_view>, 16> kPool{{
      {"sky", "sky"},
      {"skies", "sky"},
      {"dying", "die"},
      {"lying", "lie"},
      {"tying", "tie"},
      {"news", "news"},
      {"innings", "inning"},
      {"inning", "inning"},
      {"outings", "outing"},
      {"outing", "outing"},
      {"cannings", "canning"},
      {"canning", "canning"},
      {"howe", "howe"},
      {"proceed", "proceed"},
      {"exceed", "exceed"},
      {"succeed", "succeed"},
  }};
  for (const auto& [form, stem] : kPool) {
    if (form == word) return stem;
  }
  return {};
}

}  // namespace

void porter_stem(string_view word, std::string& out) {
  const string_view irregular = irregular_stem(word);
  out.assign(irregular.empty() ? word : irregular);
  if (!irregular.empty() || word.size() <= 2) return;
  step1a(out);
  step1b(out);
  step1c(out);
  step2(out);
  step3(out);
  step4(out);
  step5a(out);
  step5b(out);
}

}  // namespace mt::text_metrics
