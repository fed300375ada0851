// coco_json_records.h: one value of a record, read as Python's json and
// the dict path read it (kinds: see Field), or what is wrong with it. The
// careful loop of coco_json_records.cpp reads every value here; its fast
// path reads numbers itself and comes here for the other kinds.
#include <simdjson.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "coco_json_records.h"

namespace mt::detection::coco_json {
namespace {

namespace od = simdjson::ondemand;

// NaN and Infinity are not JSON (RFC 8259), though Python's json reads them.
bool is_non_finite_text(std::string_view token) {
  return token.starts_with("NaN") || token.starts_with("Infinity") ||
         token.starts_with("-Infinity");
}

// A number whose magnitude is past the double range (1e999): valid JSON,
// which Python's json reads as an infinity; simdjson refuses it.
bool is_past_double_range(std::string_view token) {
  const size_t end = token.find_first_not_of("+-.0123456789eE");
  const std::string number(token.substr(0, end));
  char* parsed_to = nullptr;
  const double value = number.empty() ? 0.0 : std::strtod(number.c_str(), &parsed_to);
  return !number.empty() && parsed_to == number.c_str() + number.size() && std::isinf(value);
}

std::string not_json_message(od::value& value) {
  const std::string_view token = value.raw_json_token();
  if (is_non_finite_text(token)) {
    return " is NaN or Infinity, which is not JSON (RFC 8259)";
  }
  if (is_past_double_range(token)) {
    return " is a number past the double range (Python's json reads it as infinity)";
  }
  return " is not valid JSON";
}

// A JSON number or bool as a double (Python's float() of it; bool is an int).
// nullopt for another type; Failure for malformed text.
std::optional<double> number_of(od::value& value) {
  double number = 0;
  if (value.get_double().get(number) == simdjson::SUCCESS) {  // nearly always
    return number;
  }
  // Not a number: simdjson leaves the value to be read as another type.
  od::json_type type{};
  if (value.type().get(type) != simdjson::SUCCESS || type == od::json_type::number) {
    throw Failure{not_json_message(value)};
  }
  if (type != od::json_type::boolean) {
    return std::nullopt;
  }
  bool truth = false;
  if (value.get_bool().get(truth) != simdjson::SUCCESS) {
    throw Failure{" is not valid JSON"};
  }
  return truth ? 1.0 : 0.0;
}

// Whether a list or a dict (as get_array() or get_object() gives it) is empty.
template <class Container>
bool is_empty(simdjson::simdjson_result<Container> result) {
  Container container;
  bool empty = true;
  if (std::move(result).get(container) != simdjson::SUCCESS ||
      container.is_empty().get(empty) != simdjson::SUCCESS) {
    throw Failure{" is not valid JSON"};
  }
  return empty;
}

}  // namespace

bool read_value(od::value& value, const Field& field, char* out) {
  switch (field.kind) {
    case 'i': {
      int64_t number = 0;
      if (value.get_int64().get(number) != simdjson::SUCCESS) {  // rarely: another type
        od::json_type type{};
        if (value.type().get(type) != simdjson::SUCCESS) {
          throw Failure{not_json_message(value)};
        }
        if (type == od::json_type::boolean) {  // Python's bool is an int
          bool truth = false;
          if (value.get_bool().get(truth) != simdjson::SUCCESS) {
            throw Failure{" is not valid JSON"};
          }
          number = truth ? 1 : 0;
        } else if (type != od::json_type::number) {
          return false;
        } else {
          od::number_type form{};
          if (value.get_number_type().get(form) != simdjson::SUCCESS) {
            throw Failure{not_json_message(value)};
          }
          throw Failure{form == od::number_type::floating_point_number
                            ? " must be an int, got float"
                            : " is an int beyond int64",
                        true};
        }
      }
      std::memcpy(out, &number, sizeof number);
      return true;
    }
    case 'r': {
      const std::optional<double> number = number_of(value);
      if (!number) {
        return false;
      }
      std::memcpy(out, &*number, sizeof(double));
      return true;
    }
    case 't': {  // Python's bool() of the value
      od::json_type type{};
      if (value.type().get(type) != simdjson::SUCCESS) {
        throw Failure{not_json_message(value)};
      }
      bool truth = false;
      switch (type) {
        case od::json_type::null: break;
        case od::json_type::string: truth = value.raw_json_token().size() > 2; break;  // ""
        case od::json_type::array: truth = !is_empty(value.get_array()); break;
        case od::json_type::object: truth = !is_empty(value.get_object()); break;
        default: truth = *number_of(value) != 0;
      }
      *out = static_cast<char>(truth);
      return true;
    }
    default: {  // b, l: a list of `field.numbers` numbers
      od::array list;
      if (value.get_array().get(list) != simdjson::SUCCESS) {
        return false;
      }
      int64_t count = 0;
      for (auto element : list) {
        od::value item;
        if (std::move(element).get(item) != simdjson::SUCCESS) {
          throw Failure{" is not valid JSON"};
        }
        const std::optional<double> number = number_of(item);
        if (!number) {
          throw Failure{" holds a value that is not a number", true};
        }
        if (count < field.numbers) {
          std::memcpy(out + count * sizeof(double), &*number, sizeof(double));
        }
        ++count;
      }
      if (count != field.numbers) {
        throw Failure{" must hold " + std::to_string(field.numbers) + " numbers, got " +
                          std::to_string(count),
                      true};
      }
      return true;
    }
  }
}

const char* python_type_of(std::string_view token) {
  switch (token.empty() ? '\0' : token[0]) {
    case '[': return "list";
    case '{': return "dict";
    case '"': return "str";
    case 't':
    case 'f': return "bool";
    case 'n': return "NoneType";
    default: return token.find_first_of(".eE") == std::string_view::npos ? "int" : "float";
  }
}

}  // namespace mt::detection::coco_json
