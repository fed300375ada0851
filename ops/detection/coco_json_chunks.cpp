// coco_json_records.h: one list of records into columns, on the pool.
//
// A large list is cut into chunks at `}, {` separators found in the text,
// each parsed by its own simdjson On-Demand parser (coco_json_records.cpp),
// in place: ']' and '[' are written over the separator (and put back after).
// A cut inside a string or a nested value leaves some chunk unbalanced, so
// that chunk fails to parse; any failure parses the whole list again as one
// chunk, whose answer (its columns or its first error) is the result. The
// columns and the error are therefore the same for any thread count.
#include <algorithm>
#include <utility>

#include <torch_mt/parallel.h>
#include "coco_json_records.h"

namespace mt::detection::coco_json {
namespace {

// Writes ']' and '[' over the separator between two records (`}`, then at
// least two bytes of spaces and one comma, then `{`) so that both sides
// parse in place; false when the separator has no room for both.
bool bracket_in_place(char* gap, size_t length, std::vector<std::pair<char*, char>>& saved) {
  if (length < 2) {
    return false;
  }
  for (size_t i = 0; i < length; ++i) {
    saved.emplace_back(gap + i, gap[i]);
    gap[i] = i == 0 ? ']' : i + 1 == length ? '[' : ' ';
  }
  return true;
}

// Cuts the elements of `list` into about `pieces` chunks, each starting at a
// record's `{` after a `}` `,`; the bytes written over separators are
// `saved` (to be put back).
std::vector<Chunk> cut(char* text, std::string_view list, int64_t pieces,
                       std::vector<std::pair<char*, char>>& saved) {
  const std::string_view elements = list.substr(1, list.size() - 2);
  char* const base = text + (elements.data() - text);
  const int64_t offset = elements.data() - text;
  std::vector<Chunk> chunks(1);
  chunks[0].bracketed = true;
  size_t begin = 0;
  for (int64_t k = 1; k < pieces; ++k) {
    size_t at = std::max(begin, elements.size() * k / pieces);
    for (; (at = elements.find('}', at)) != std::string_view::npos; ++at) {
      size_t comma = at + 1, open = 0;
      while (comma < elements.size() && is_json_space(elements[comma])) ++comma;
      if (comma >= elements.size() || elements[comma] != ',') {
        continue;
      }
      for (open = comma + 1; open < elements.size() && is_json_space(elements[open]);) ++open;
      if (open >= elements.size() || elements[open] != '{') {
        continue;
      }
      Chunk& left = chunks.back();
      left.elements = elements.substr(begin, at + 1 - begin);
      left.offset = offset + static_cast<int64_t>(begin);
      const bool in_place = bracket_in_place(base + at + 1, open - at - 1, saved);
      left.bracketed = left.bracketed && in_place;
      chunks.emplace_back().bracketed = in_place;
      begin = open;
      break;
    }
    if (at == std::string_view::npos) {
      break;
    }
  }
  chunks.back().elements = elements.substr(begin);
  chunks.back().offset = offset + static_cast<int64_t>(begin);
  return chunks;
}

}  // namespace

std::vector<Chunk> read_list(char* text, size_t capacity, std::string_view list,
                             const std::vector<const Field*>& fields, int64_t chunk_bytes) {
  // Chunks of about `chunk_bytes` at any thread count, each task parsing its
  // chunks with one parser: the parser's structural index (4 bytes a byte of
  // text, allocated on the first parse) then stays in cache from one chunk
  // to the next. One parser over a whole 78 MB list wrote its index to fresh
  // pages: the page faults and their zeroing were ~10 % of a bbox evaluation.
  const int64_t pieces = std::max<int64_t>(static_cast<int64_t>(list.size()) / chunk_bytes, 1);
  std::vector<std::pair<char*, char>> saved;
  std::vector<Chunk> chunks = cut(text, list, pieces, saved);
  parallel_for(0, static_cast<int64_t>(chunks.size()), 1, [&](int64_t first, int64_t last) {
    simdjson::ondemand::parser parser;
    for (int64_t c = first; c < last; ++c) {
      parse_chunk(chunks[c], text, capacity, fields, parser);
    }
  });
  for (auto it = saved.rbegin(); it != saved.rend(); ++it) {
    *it->first = it->second;
  }
  const bool failed = std::any_of(chunks.begin(), chunks.end(), [](auto& c) { return c.failed; });
  if (failed && chunks.size() > 1) {  // a cut inside a string or a nested value, or bad JSON
    saved.clear();
    chunks = cut(text, list, 1, saved);
    simdjson::ondemand::parser parser;
    parse_chunk(chunks[0], text, capacity, fields, parser);
  }
  return chunks;
}

}  // namespace mt::detection::coco_json
