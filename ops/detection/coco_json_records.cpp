// coco_json_records.h: one chunk of a list's records into columns
// (coco_json_chunks.cpp cuts the list and runs the chunks on the pool; each
// value of a record is read by coco_json_values.cpp, or, on the fast path,
// here).
//
// On-Demand is compiled here for the generic x86-64 target (simdjson's
// `fallback` front end; its structural indexing still picks AVX-512 or
// AVX2 at run time): on COCO files converting the numbers dominates, and a
// build for AVX2 parsed the 78 MB detections file no faster (117 ms against
// 118 ms), so there is no instruction-set dispatch here.
#include "coco_json_records.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>

namespace mt::detection::coco_json {
namespace {

namespace od = simdjson::ondemand;

// Whether n bytes at a and b are equal, by overlapping word loads: keys
// are a few bytes, and a byte loop (or the libc memcmp that std::equal
// becomes) was a tenth of reading the bbox detections.
bool same_bytes(const char* a, const char* b, size_t n) {
  const auto word = [](const char* at) {
    uint64_t value = 0;
    std::memcpy(&value, at, sizeof value);
    return value;
  };
  const auto half = [](const char* at) {
    uint32_t value = 0;
    std::memcpy(&value, at, sizeof value);
    return value;
  };
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (word(a + i) != word(b + i)) {
        return false;
      }
    }
    return word(a + n - 8) == word(b + n - 8);
  }
  if (n >= 4) {
    return half(a) == half(b) && half(a + n - 4) == half(b + n - 4);
  }
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) {
      return false;
    }
  }
  return true;
}

// The field whose quoted key is `key`, or fields.size().
size_t matching_field(const std::vector<const Field*>& fields, std::string_view key) {
  for (size_t f = 0; f < fields.size(); ++f) {
    const std::string& quoted = fields[f]->quoted_key;
    if (quoted.size() == key.size() && same_bytes(quoted.data(), key.data(), key.size())) {
      return f;
    }
  }
  return fields.size();
}

// Each column of a chunk grows a block of records at a time, zeroed in
// bulk, and is cut to the records read at the end.
class Columns {
 public:
  Columns(Chunk& chunk, const std::vector<const Field*>& fields) : chunk_(chunk), fields_(fields) {
    chunk.values.assign(fields.size(), {});
    chunk.status.assign(fields.size(), {});
  }

  // Room for record chunk.records, whose optional fields are missing so far.
  void start_record() {
    if (chunk_.records == room_) {
      room_ = std::max<int64_t>(2 * room_, 256);
      for (size_t f = 0; f < fields_.size(); ++f) {
        chunk_.values[f].resize(static_cast<size_t>(room_) * fields_[f]->width);
        if (fields_[f]->optional) {
          chunk_.status[f].resize(static_cast<size_t>(room_));
        }
      }
    }
    for (size_t f = 0; f < fields_.size(); ++f) {
      if (fields_[f]->optional) {
        chunk_.status[f][static_cast<size_t>(chunk_.records)] = 0;
      }
    }
  }

  void cut_to_records() {
    for (size_t f = 0; f < fields_.size(); ++f) {
      chunk_.values[f].resize(static_cast<size_t>(chunk_.records) * fields_[f]->width);
      if (fields_[f]->optional) {
        chunk_.status[f].resize(static_cast<size_t>(chunk_.records));
      }
    }
  }

 private:
  Chunk& chunk_;
  const std::vector<const Field*>& fields_;
  int64_t room_ = 0;
};

// The fast path of parse_chunk, for records whose every field is present
// (or optional and absent) and of its kind: each value is read through
// simdjson's result chain, without copying it into an od::value (On-Demand's
// value, field and array objects; those copies, with the error handling
// around them, made the careful loop ~1.4x slower on the 78 MB bbox
// detections). False at anything else: the chunk is then read again by
// read_carefully, which gives the same columns for regular records and
// names the first irregular one.
bool read_regular(Chunk& chunk, simdjson::padded_string_view json,
                  const std::vector<const Field*>& fields, od::parser& parser) {
  Columns columns(chunk, fields);
  od::document document;
  if (parser.iterate(json).get(document) != simdjson::SUCCESS) {
    return false;
  }
  auto records = document.get_array();
  if (records.error() != simdjson::SUCCESS) {
    return false;
  }
  std::vector<char> seen(fields.size());
  Segmentations& segmentations = chunk.segmentations;
  for (auto element : records) {
    auto object = element.get_object();
    if (object.error() != simdjson::SUCCESS) {
      return false;
    }
    columns.start_record();
    std::fill(seen.begin(), seen.end(), 0);
    for (auto member : object) {
      std::string_view key;
      if (member.key_raw_json_token().get(key) != simdjson::SUCCESS) {
        return false;
      }
      const size_t f = matching_field(fields, key);
      if (f == fields.size()) {
        if (key.find('\\') != std::string_view::npos) {
          return false;  // a field's key with an escape, perhaps
        }
        continue;
      }
      const Field& spec = *fields[f];
      char* out = chunk.values[f].data() + chunk.records * spec.width;
      if (seen[f] != 0) {
        return false;  // a repeated key
      }
      seen[f] = 1;
      if (spec.optional) {
        chunk.status[f][static_cast<size_t>(chunk.records)] = 1;
      }
      switch (spec.kind) {
        case 'i': {
          int64_t number = 0;
          if (member.value().get_int64().get(number) != simdjson::SUCCESS) {
            return false;
          }
          std::memcpy(out, &number, sizeof number);
          break;
        }
        case 'r': {
          double number = 0;
          if (member.value().get_double().get(number) != simdjson::SUCCESS) {
            return false;
          }
          std::memcpy(out, &number, sizeof number);
          break;
        }
        case 'b':
        case 'l': {
          od::array list;
          if (member.value().get_array().get(list) != simdjson::SUCCESS) {
            return false;
          }
          int64_t count = 0;
          for (auto item : list) {
            double number = 0;
            if (count == spec.numbers || item.get_double().get(number) != simdjson::SUCCESS) {
              return false;
            }
            std::memcpy(out + count * sizeof(double), &number, sizeof number);
            ++count;
          }
          if (count != spec.numbers) {
            return false;
          }
          break;
        }
        default: {  // t, s: rare or costly anyway, read as the careful loop does
          od::value value;
          if (member.value().get(value) != simdjson::SUCCESS) {
            return false;
          }
          if (spec.kind == 's') {
            int64_t row[kSegmentationRow];
            if (!read_segmentation(value, row, segmentations)) {
              return false;
            }
            std::memcpy(out, row, sizeof row);
            break;
          }
          try {
            if (!read_value(value, spec, out)) {
              return false;
            }
          } catch (const Failure&) {
            return false;
          }
        }
      }
    }
    for (size_t f = 0; f < fields.size(); ++f) {
      if (seen[f] == 0 && !fields[f]->optional) {
        return false;
      }
    }
    ++chunk.records;
  }
  if (!document.at_end()) {
    return false;
  }
  columns.cut_to_records();
  return true;
}

// The careful loop of parse_chunk: every record, regular or not, as
// Python's json and the dict path read it, or the first one's error.
void read_carefully(Chunk& chunk, simdjson::padded_string_view json,
                    const std::vector<const Field*>& fields, od::parser& parser) {
  Columns columns(chunk, fields);
  const char* first = json.data() + 1;
  const char* record_start = first;
  const auto fail = [&](std::string message) {
    columns.cut_to_records();
    chunk.failed = true;
    chunk.failed_record = chunk.records;
    chunk.failed_byte = chunk.offset + std::max<int64_t>(record_start - first, 0);
    chunk.message = std::move(message);
  };
  od::document document;
  od::array records;
  if (parser.iterate(json).get(document) != simdjson::SUCCESS ||
      document.get_array().get(records) != simdjson::SUCCESS) {
    return fail(" is not valid JSON");
  }
  std::vector<char> seen(fields.size());
  try {
    for (auto element : records) {
      od::value record;
      od::object object;
      if (std::move(element).get(record) != simdjson::SUCCESS) {
        throw Failure{" is not valid JSON"};
      }
      record_start = record.raw_json_token().data();
      if (record.get_object().get(object) != simdjson::SUCCESS) {
        od::json_type type{};
        if (record.type().get(type) != simdjson::SUCCESS || type == od::json_type::object) {
          throw Failure{" is not valid JSON"};
        }
        throw Failure{std::string(" is a ") + python_type_of(std::string_view(record_start, 1)) +
                      ", not a dict"};
      }
      columns.start_record();
      std::fill(seen.begin(), seen.end(), 0);
      Segmentations& segmentations = chunk.segmentations;
      const size_t text_start = segmentations.text.size();
      const size_t numbers_start = segmentations.numbers.size();
      const size_t parts_start = segmentations.parts.size();
      for (auto member : object) {
        od::field field;
        if (std::move(member).get(field) != simdjson::SUCCESS) {
          throw Failure{" is not valid JSON"};
        }
        // The key as written, quotes included; unescaped only if it matches
        // no field as written and has an escape (Python's json compares the
        // unescaped text).
        std::string_view key = field.key_raw_json_token();
        size_t f = matching_field(fields, key);
        std::string unescaped;
        if (f == fields.size() && key.find('\\') != std::string_view::npos) {
          std::string_view text;
          if (field.unescaped_key().get(text) != simdjson::SUCCESS) {
            throw Failure{" is not valid JSON"};
          }
          unescaped = '"' + std::string(text) + '"';
          f = matching_field(fields, unescaped);
        }
        if (f == fields.size()) {
          continue;
        }
        {
          // A repeated key: the last one wins, as in Python's json.
          const Field& spec = *fields[f];
          char* out = chunk.values[f].data() + chunk.records * spec.width;
          od::value value = field.value();
          bool read = false;
          if (spec.kind == 's') {  // a repeated key: what the first one added goes
            segmentations.text.resize(text_start);
            segmentations.numbers.resize(numbers_start);
            segmentations.parts.resize(parts_start);
            int64_t row[kSegmentationRow];
            if (!read_segmentation(value, row, segmentations)) {
              throw Failure{"['" + spec.key + "'] is not valid JSON"};
            }
            std::memcpy(out, row, sizeof row);
            chunk.status[f][static_cast<size_t>(chunk.records)] = 1;
            seen[f] = 1;
            continue;
          }
          try {
            read = read_value(value, spec, out);
          } catch (const Failure& failure) {
            if (!(spec.optional && failure.of_kind)) {
              throw Failure{"['" + spec.key + "']" + failure.message};
            }
          }
          if (spec.optional) {
            chunk.status[f][static_cast<size_t>(chunk.records)] = read ? 1 : 2;
            if (!read) {
              std::memset(out, 0, spec.width);
            }
          } else if (!read) {
            throw Failure{"['" + spec.key + "']" +
                          (spec.kind == 'i'   ? " must be an int"
                           : spec.kind == 'r' ? " is not a number"
                                              : " is not a number list")};
          }
          seen[f] = 1;
        }
      }
      for (size_t f = 0; f < fields.size(); ++f) {
        if (!seen[f] && !fields[f]->optional) {
          throw Failure{" has no '" + fields[f]->key + "'"};
        }
      }
      ++chunk.records;
    }
  } catch (const Failure& failure) {
    return fail(failure.message);
  }
  columns.cut_to_records();
  // A syntax error after the last record (a missing bracket, trailing text).
  if (!document.at_end()) {
    record_start = json.data() + json.size() - 1;
    return fail(" is not valid JSON");
  }
}

}  // namespace

// The records of `chunk` into its columns (`text`/`capacity`: the buffer):
// by the fast path, else carefully.
void parse_chunk(Chunk& chunk, const char* text, size_t capacity,
                 const std::vector<const Field*>& fields, od::parser& parser) {
  simdjson::padded_string copy;
  simdjson::padded_string_view json;
  if (chunk.bracketed) {  // in place: '[' elements ']' and the buffer's padding after
    const char* begin = chunk.elements.data() - 1;
    json = simdjson::padded_string_view(begin, chunk.elements.size() + 2,
                                        capacity - static_cast<size_t>(begin - text));
  } else {
    copy = simdjson::padded_string(chunk.elements.size() + 2);
    copy.data()[0] = '[';
    std::memcpy(copy.data() + 1, chunk.elements.data(), chunk.elements.size());
    copy.data()[chunk.elements.size() + 1] = ']';
    json = copy;
  }
  if (read_regular(chunk, json, fields, parser)) {
    return;
  }
  chunk.records = 0;
  chunk.segmentations = Segmentations{};
  read_carefully(chunk, json, fields, parser);
}

}  // namespace mt::detection::coco_json
