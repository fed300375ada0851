// The Porter stemmer as rouge-score runs it: NLTK's PorterStemmer in its
// default mode (NLTK_EXTENSIONS: Martin Porter's later rules, NLTK's own
// additions and its pool of irregular forms), rule for rule, on lowercase
// ASCII words (what ROUGE's tokenizer leaves). docs/ops/text_metrics.md names
// the NLTK version it is tested against.
//
// Only standard headers: the Python bindings compile the family's headers too.
#pragma once

#include <string>
#include <string_view>

namespace mt::text_metrics {

// `out` = nltk.stem.porter.PorterStemmer().stem(word) for a word of lowercase
// ASCII letters and digits.
void porter_stem(std::string_view word, std::string& out);

}  // namespace mt::text_metrics
