// coco_json_records.h's segmentations: a COCO segmentation read from the
// JSON text into a row and the chunk's texts and numbers, as pycocotools'
// annToRLE reads them: a dict with `counts` (a string: a compressed RLE;
// a list: an uncompressed one) and `size`, or a list of polygons. What is
// wrong with one is a form, which the Python side names (the record, the
// image's size), as the dict path does (coco/masks.py).
#include <optional>

#include "coco_json_records.h"

namespace mt::detection::coco_json {
namespace {

namespace od = simdjson::ondemand;

// A number that is not a bool (the dict path's test), as a double; nullopt
// for another type or a bool; false in `valid` for malformed JSON.
std::optional<double> plain_number(od::value& value, bool& valid) {
  double number = 0;
  if (value.get_double().get(number) == simdjson::SUCCESS) {
    return number;
  }
  od::json_type type{};
  valid = value.type().get(type) == simdjson::SUCCESS && type != od::json_type::number;
  return std::nullopt;
}

// A list of numbers appended to `numbers`; its length, or -1 when an
// element is not a number (`valid` false: malformed JSON).
int64_t append_numbers(od::array& list, std::vector<double>& numbers, bool& valid) {
  int64_t count = 0;
  for (auto element : list) {
    od::value item;
    if (std::move(element).get(item) != simdjson::SUCCESS) {
      valid = false;
      return -1;
    }
    const std::optional<double> number = plain_number(item, valid);
    if (!number) {
      return -1;
    }
    numbers.push_back(*number);
    ++count;
  }
  return count;
}

bool read_rle(od::object& rle, int64_t* row, Segmentations& out) {
  const size_t text_start = out.text.size(), numbers_start = out.numbers.size();
  row[0] = kNoCounts;
  for (auto member : rle) {
    od::field field;
    std::string_view key;
    if (std::move(member).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return false;
    }
    od::value value = field.value();
    od::json_type type{};
    if (value.type().get(type) != simdjson::SUCCESS) {
      return false;
    }
    if (key == "size") {  // [height, width], ints
      row[1] = row[2] = -1;
      od::array size;
      int64_t values[2] = {-1, -1}, count = 0;
      if (type == od::json_type::array && value.get_array().get(size) == simdjson::SUCCESS) {
        for (auto element : size) {
          int64_t number = -1;
          od::value item;
          if (std::move(element).get(item) != simdjson::SUCCESS) {
            return false;
          }
          if (item.get_int64().get(number) != simdjson::SUCCESS) {
            number = -1;
          }
          if (count < 2) {
            values[count] = number;
          }
          ++count;
        }
      }
      if (count == 2) {
        row[1] = values[0];
        row[2] = values[1];
      }
    } else if (key == "counts") {  // a repeated key: the last one wins
      out.text.resize(text_start);
      out.numbers.resize(numbers_start);
      row[3] = row[4] = 0;
      if (type == od::json_type::string) {
        std::string_view text;
        if (value.get_string().get(text) != simdjson::SUCCESS) {
          return false;
        }
        out.text.insert(out.text.end(), text.begin(), text.end());
        row[0] = kRleText;
        row[3] = static_cast<int64_t>(text.size());
      } else if (type == od::json_type::array) {
        od::array counts = value.get_array().value_unsafe();
        bool valid = true;
        const int64_t count = append_numbers(counts, out.numbers, valid);
        if (!valid) {
          return false;
        }
        row[0] = count < 0 ? kCountsNotNumbers : kRleList;
        if (count < 0) {  // nothing of it kept: the row's counts say what it added
          out.numbers.resize(numbers_start);
        }
        row[4] = static_cast<int64_t>(out.numbers.size() - numbers_start);
      } else {
        row[0] = kNoCounts;
      }
    }
  }
  return true;
}

bool read_polygons(od::array& polygons, int64_t* row, Segmentations& out) {
  const size_t numbers_start = out.numbers.size(), parts_start = out.parts.size();
  // A wrong one keeps nothing: the row's counts say what a record added.
  const auto wrong = [&](SegmentationForm form) {
    out.numbers.resize(numbers_start);
    out.parts.resize(parts_start);
    row[0] = form;
    row[4] = row[5] = 0;
    return true;
  };
  for (auto element : polygons) {
    od::value part;
    od::array coordinates;
    if (std::move(element).get(part) != simdjson::SUCCESS) {
      return false;
    }
    if (part.get_array().get(coordinates) != simdjson::SUCCESS) {
      od::json_type type{};
      if (part.type().get(type) != simdjson::SUCCESS) {
        return false;
      }
      return wrong(kNotPolygonLists);
    }
    bool valid = true;
    const int64_t count = append_numbers(coordinates, out.numbers, valid);
    if (!valid) {
      return false;
    }
    if (count < 0) {
      return wrong(kPolygonNotNumbers);
    }
    out.parts.push_back(count);
  }
  if (out.parts.size() == parts_start) {
    return wrong(kNotPolygonLists);
  }
  row[0] = kPolygons;
  row[4] = static_cast<int64_t>(out.numbers.size() - numbers_start);
  row[5] = static_cast<int64_t>(out.parts.size() - parts_start);
  return true;
}

}  // namespace

bool read_segmentation(od::value& value, int64_t* row, Segmentations& out) {
  for (int64_t i = 0; i < kSegmentationRow; ++i) {
    row[i] = 0;
  }
  row[1] = row[2] = -1;
  od::json_type type{};
  if (value.type().get(type) != simdjson::SUCCESS) {
    return false;
  }
  if (type == od::json_type::object) {
    od::object rle = value.get_object().value_unsafe();
    return read_rle(rle, row, out);
  }
  if (type == od::json_type::array) {
    od::array polygons = value.get_array().value_unsafe();
    return read_polygons(polygons, row, out);
  }
  row[0] = kNeitherDictNorList;
  return true;
}

}  // namespace mt::detection::coco_json
