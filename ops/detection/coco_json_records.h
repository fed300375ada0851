// coco_json.cpp's records: one list of a COCO JSON file, cut into chunks
// that are parsed on the pool into columns (coco_json_records.cpp).
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mt::detection::coco_json {

// A field of a record and how it is read (`kinds`, one letter a field):
// i int64, r float64, t truth as uint8, b 4 float64, l `list_numbers`
// float64, s a segmentation (Segmentations; one such field a list). An upper-case letter marks an
// optional field: a missing value, or one of another kind, leaves zeros, and a status column says
// which (0 missing, 1 read, 2 another kind).
struct Field {
  std::string array;  // "" the file's top-level list
  std::string key;
  std::string quoted_key;  // '"' key '"', as a key is written
  char kind = 'i';
  bool optional = false;
  int64_t numbers = 1;  // float64 values a record (b: 4, l: list_numbers)
  size_t width = 8;     // bytes a record
};

// A segmentation field (kind s): each record's row of kSegmentationRow
// int64 (form, height, width, and how many characters, numbers and
// polygons it added here), and what it added: a compressed RLE's counts
// text, an uncompressed RLE's counts or the polygons' coordinates, and each
// polygon's length. Forms: kMissing (no field), kRleText, kRleList,
// kPolygons; above them, what is wrong with it (coco/json_records.py says
// it as the dict path does).
struct Segmentations {
  std::vector<char> text;
  std::vector<double> numbers;
  std::vector<int64_t> parts;
};
constexpr int64_t kSegmentationRow = 6;
enum SegmentationForm : int64_t {
  kMissing = 0,
  kRleText = 1,
  kRleList = 2,
  kPolygons = 3,
  kNeitherDictNorList = 4,
  kNoCounts = 5,
  kNotPolygonLists = 6,
  kPolygonNotNumbers = 7,
  kCountsNotNumbers = 8,
};

// What a record does wrong. `of_kind`: the value is well-formed JSON, of
// another kind than the field's (an optional field then only says so).
struct Failure {
  std::string message;
  bool of_kind = false;
};

// One value of `field`'s kind into `out`; false when it is of another kind
// (the caller names what was expected), Failure for malformed JSON or a
// kind's own error (coco_json_values.cpp).
bool read_value(simdjson::ondemand::value& value, const Field& field, char* out);

// Reads one segmentation value into `row` and `out`; false when its JSON is
// malformed (coco_json_segmentation.cpp).
bool read_segmentation(simdjson::ondemand::value& value, int64_t* row, Segmentations& out);

// The columns of one list's fields for the records of one chunk, or the
// chunk's first error.
struct Chunk {
  std::string_view elements;  // in the text, without the list's brackets
  // The text holds '[' just before `elements` and ']' just after (the
  // list's own, or written over the separator of a cut): parsed in place.
  // Else a bracketed copy is parsed.
  bool bracketed = false;
  int64_t offset = 0;  // of `elements` in the file
  int64_t records = 0;
  std::vector<std::vector<char>> values;  // per field
  std::vector<std::vector<char>> status;  // per field: optional ones only
  Segmentations segmentations;            // of the list's segmentation field
  bool failed = false;
  int64_t failed_record = 0;  // within the chunk
  int64_t failed_byte = 0;    // in the file
  std::string message;        // what follows the record's name
};

// The records of `chunk` into its columns; `text` is the buffer, readable
// for `capacity` bytes; `parser` may have parsed other chunks before
// (coco_json_records.cpp).
void parse_chunk(Chunk& chunk, const char* text, size_t capacity,
                 const std::vector<const Field*>& fields, simdjson::ondemand::parser& parser);

// JSON's whitespace (RFC 8259: space, tab, line feed, carriage return;
// not std::isspace's vertical tab and form feed, which are not JSON).
inline bool is_json_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Python's type name of the JSON value whose text starts `token`.
const char* python_type_of(std::string_view token);

// The records of `list` (a JSON list, brackets included, inside `text`:
// `text` is writable and readable for `capacity` bytes, at least the
// parser's padding past its end) as chunks in order: each chunk's columns,
// or the first failing chunk's error, the same for any thread count.
// Chunks are about `chunk_bytes` long or more, at any thread count (tests
// make them small);
// coco_json_chunks.cpp.
std::vector<Chunk> read_list(char* text, size_t capacity, std::string_view list,
                             const std::vector<const Field*>& fields, int64_t chunk_bytes);

}  // namespace mt::detection::coco_json
