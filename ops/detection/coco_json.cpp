// mt::_coco_json_columns: COCO's JSON files straight into the columns that
// coco_evaluate packs (torch_mt/detection/coco/json_records.py), with no
// Python object per record.
//
// Why: from files, coco_evaluate spent most of its time in Python's json
// (2.3 s of a 78 MB detections file: half a million dicts), and then a C pass
// read those dicts into columns. simdjson's On-Demand API reads each record's
// fields in place and converts the numbers as it meets them, correctly
// rounded, so a number gives the float64 Python's json gives it.
//
// The file is mapped, not read into a buffer (private pages: the chunks'
// brackets are written in place, coco_json_chunks.cpp), and each list is
// parsed on the pool there.
//
// Every error is a ValueError naming the record as the dict path does
// (`dt[12]['bbox']`, `gt['annotations'][3]`), then the file and the byte.
#include <ATen/ATen.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <torch/library.h>
#include <unistd.h>

#include <fcntl.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <torch_mt/parallel.h>
#include "coco_json_records.h"

namespace mt::detection {
namespace {

using coco_json::Chunk;
using coco_json::Field;
using coco_json::is_json_space;
using coco_json::Segmentations;
namespace od = simdjson::ondemand;

// A JSON text with the parser's padding readable after it, writable: the
// file mapped privately where its last page has room for the padding (no
// copy: pages come from the page cache, written ones are copied by the
// kernel), else read into a padded buffer.
class JsonText {
 public:
  JsonText(const JsonText&) = delete;
  JsonText& operator=(const JsonText&) = delete;
  explicit JsonText(const char* bytes, size_t size) : copy_(bytes, size) {}

  explicit JsonText(const std::string& path, const std::string& what) {
    const int file = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat status{};
    if (file >= 0 && ::fstat(file, &status) == 0 && S_ISREG(status.st_mode) && status.st_size > 0) {
      const auto size = static_cast<size_t>(status.st_size);
      const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
      const size_t slack = (page - size % page) % page;  // zeros after the end, same page
      if (slack >= simdjson::SIMDJSON_PADDING) {
        // Populated read-only (the page cache's pages, not copies), then
        // made writable: only the pages a cut writes to get copied.
        void* map = ::mmap(nullptr, size + slack, PROT_READ, MAP_PRIVATE | MAP_POPULATE, file, 0);
        if (map != MAP_FAILED && ::mprotect(map, size + slack, PROT_READ | PROT_WRITE) != 0) {
          ::munmap(map, size + slack);
          map = MAP_FAILED;
        }
        if (map != MAP_FAILED) {
          map_ = static_cast<char*>(map);
          map_size_ = size;
          map_length_ = size + slack;
        }
      }
    }
    if (file >= 0) {
      ::close(file);
    }
    if (map_ == nullptr) {
      const simdjson::error_code error = simdjson::padded_string::load(path).get(copy_);
      TORCH_CHECK_VALUE(error == simdjson::SUCCESS, "torch_mt.coco_evaluate: cannot read ", path,
                        " (", what, "): ", simdjson::error_message(error));
    }
  }

  ~JsonText() {
    if (map_ != nullptr) {
      ::munmap(map_, map_length_);
    }
  }

  char* data() { return map_ != nullptr ? map_ : copy_.data(); }
  size_t size() const { return map_ != nullptr ? map_size_ : copy_.size(); }
  // Readable (and writable) bytes from data().
  size_t capacity() const {
    return map_ != nullptr ? map_length_ : copy_.size() + simdjson::SIMDJSON_PADDING;
  }

 private:
  char* map_ = nullptr;
  size_t map_size_ = 0;
  size_t map_length_ = 0;
  simdjson::padded_string copy_;
};

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && is_json_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_json_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

// A list's JSON text, trimmed, or nullopt if it is not bracketed.
std::optional<std::string_view> bracketed(std::string_view list) {
  list = trimmed(list);
  if (list.size() < 2 || list.front() != '[' || list.back() != ']') {
    return std::nullopt;
  }
  return list;
}

std::string record_name(const std::string& what, const std::string& array, int64_t index) {
  return what + (array.empty() ? "" : "['" + array + "']") + "[" + std::to_string(index) + "]";
}

// Where each requested list is in `text` (nullopt: no such
// key), after checking the top level is what the request implies: a list
// (array "") or a dict.
std::vector<std::optional<std::string_view>> array_spans(JsonText& text,
                                                         const std::vector<std::string>& arrays,
                                                         const std::string& what,
                                                         const std::string& source) {
  std::vector<std::optional<std::string_view>> spans(arrays.size());
  const std::string_view whole = trimmed(std::string_view(text.data(), text.size()));
  const char top = whole.empty() ? '\0' : whole.front();
  const bool list = arrays.size() == 1 && arrays[0].empty();
  TORCH_CHECK_VALUE(top == (list ? '[' : '{'), "torch_mt.coco_evaluate: ", source, " (", what,
                    ") must hold a ", list ? "list of result dicts" : "COCO dataset dict",
                    ", but its JSON starts with ",
                    top == '\0' ? std::string("nothing") : "'" + std::string(1, top) + "'");
  if (list) {
    spans[0] = bracketed(whole);
    TORCH_CHECK_VALUE(spans[0], "torch_mt.coco_evaluate: ", source, " (", what,
                      ") is not valid JSON: its list does not end with ']'");
    return spans;
  }
  od::parser parser;
  od::document document;
  od::object root;
  const auto invalid = [&](const char* at) {
    const int64_t byte = at == nullptr ? static_cast<int64_t>(text.size()) : at - text.data();
    TORCH_CHECK_VALUE(false, "torch_mt.coco_evaluate: ", source, " (", what,
                      ") is not valid JSON near byte ", byte);
  };
  if (parser.iterate(text.data(), text.size(), text.capacity()).get(document) !=
          simdjson::SUCCESS ||
      document.get_object().get(root) != simdjson::SUCCESS) {
    invalid(nullptr);
  }
  for (auto member : root) {
    od::field field;
    std::string_view key;
    if (std::move(member).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key) != simdjson::SUCCESS) {
      invalid(document.current_location().value_unsafe());
    }
    for (size_t a = 0; a < arrays.size(); ++a) {
      if (key != arrays[a]) {
        continue;
      }
      od::value value = field.value();
      const std::string_view token = value.raw_json_token();
      TORCH_CHECK_VALUE(token.starts_with('['), "torch_mt.coco_evaluate: ", what, "['", arrays[a],
                        "'] must be a list, got ", coco_json::python_type_of(token), " (", source,
                        ")");
      std::string_view raw;
      if (value.raw_json().get(raw) != simdjson::SUCCESS) {
        invalid(token.data());
      }
      spans[a] = bracketed(raw);
      break;
    }
  }
  if (!document.at_end()) {
    invalid(nullptr);
  }
  return spans;
}

at::Tensor column_of(const std::vector<Chunk>& chunks, size_t f, const Field& field, bool status) {
  int64_t records = 0;
  for (const Chunk& chunk : chunks) {
    records += chunk.records;
  }
  const at::ScalarType dtype = status || field.kind == 't'              ? at::kByte
                               : field.kind == 'i' || field.kind == 's' ? at::kLong
                                                                        : at::kDouble;
  at::Tensor out = status || field.numbers == 1 ? at::empty({records}, dtype)
                                                : at::empty({records, field.numbers}, dtype);
  advise_huge_pages(out.data_ptr(), out.nbytes());
  // The chunks' parts are copied on the pool, as they were parsed (28 MB
  // for the bbox detections of 5000 images).
  std::vector<size_t> starts(chunks.size() + 1, 0);
  for (size_t c = 0; c < chunks.size(); ++c) {
    starts[c + 1] = starts[c] + (status ? chunks[c].status[f] : chunks[c].values[f]).size();
  }
  auto* bytes = static_cast<char*>(out.data_ptr());
  parallel_for(0, static_cast<int64_t>(chunks.size()), 1, [&](int64_t first, int64_t last) {
    for (int64_t c = first; c < last; ++c) {
      const auto& source = status ? chunks[c].status[f] : chunks[c].values[f];
      std::memcpy(bytes + starts[c], source.data(), source.size());
    }
  });
  return out;
}

// A segmentation field's texts, numbers and polygon lengths, chunk after chunk.
std::vector<at::Tensor> segmentation_parts(const std::vector<Chunk>& chunks) {
  int64_t text = 0, numbers = 0, parts = 0;
  for (const Chunk& chunk : chunks) {
    text += static_cast<int64_t>(chunk.segmentations.text.size());
    numbers += static_cast<int64_t>(chunk.segmentations.numbers.size());
    parts += static_cast<int64_t>(chunk.segmentations.parts.size());
  }
  std::vector<at::Tensor> out = {at::empty({text}, at::kByte), at::empty({numbers}, at::kDouble),
                                 at::empty({parts}, at::kLong)};
  for (at::Tensor& part : out) {
    advise_huge_pages(part.data_ptr(), part.nbytes());
  }
  auto* text_out = out[0].data_ptr<uint8_t>();
  auto* numbers_out = out[1].data_ptr<double>();
  auto* parts_out = out[2].data_ptr<int64_t>();
  for (const Chunk& chunk : chunks) {
    const Segmentations& from = chunk.segmentations;
    text_out = std::copy(from.text.begin(), from.text.end(), text_out);
    numbers_out = std::copy(from.numbers.begin(), from.numbers.end(), numbers_out);
    parts_out = std::copy(from.parts.begin(), from.parts.end(), parts_out);
  }
  return out;
}

// _coco_json_columns(source, text, what, fields, kinds, list_numbers): see
// the schema's comment below.
std::vector<at::Tensor> coco_json_columns(const std::string& source,
                                          const std::optional<at::Tensor>& text_tensor,
                                          const std::string& what,
                                          const std::vector<std::string>& field_names,
                                          const std::string& kinds, int64_t list_numbers,
                                          int64_t chunk_bytes) {
  constexpr const char* op = "mt::_coco_json_columns";
  TORCH_CHECK_VALUE(field_names.size() == kinds.size(), op, ": one kind a field");
  TORCH_CHECK_VALUE(chunk_bytes > 0, op, ": chunk_bytes must be positive, got ", chunk_bytes);
  std::vector<Field> fields(field_names.size());
  std::vector<std::string> arrays;
  for (size_t f = 0; f < fields.size(); ++f) {
    const size_t dot = field_names[f].find('.');
    TORCH_CHECK_VALUE(dot != std::string::npos, op, ": a field is 'array.key', got '",
                      field_names[f], "'");
    Field& field = fields[f];
    field.array = field_names[f].substr(0, dot);
    field.key = field_names[f].substr(dot + 1);
    field.quoted_key = '"' + field.key + '"';
    field.optional = std::isupper(static_cast<unsigned char>(kinds[f]));
    field.kind = static_cast<char>(std::tolower(static_cast<unsigned char>(kinds[f])));
    TORCH_CHECK_VALUE(std::string_view("irtbls").find(field.kind) != std::string_view::npos, op,
                      ": unknown kind '", kinds[f], "'");
    TORCH_CHECK_VALUE(field.kind != 'l' || list_numbers > 0, op,
                      ": list_numbers must be positive, got ", list_numbers);
    field.numbers = field.kind == 'b'   ? 4
                    : field.kind == 'l' ? list_numbers
                    : field.kind == 's' ? coco_json::kSegmentationRow
                                        : 1;
    field.width = field.kind == 't' ? 1 : 8 * static_cast<size_t>(field.numbers);
    if (std::find(arrays.begin(), arrays.end(), field.array) == arrays.end()) {
      arrays.push_back(field.array);
    }
  }
  TORCH_CHECK_VALUE(!arrays.empty(), op, ": no field to read");
  TORCH_CHECK_VALUE(
      arrays.size() == 1 || std::find(arrays.begin(), arrays.end(), "") == arrays.end(), op,
      ": the top-level list ('.key') is the only array of its file");
  std::optional<JsonText> text;
  if (text_tensor) {
    const at::Tensor& bytes = *text_tensor;
    TORCH_CHECK_TYPE(bytes.scalar_type() == at::kByte, op, ": argument 'text' must be uint8");
    TORCH_CHECK_VALUE(bytes.dim() == 1 && bytes.is_contiguous() && bytes.is_cpu(), op,
                      ": argument 'text' must be a contiguous 1-D CPU tensor");
    text.emplace(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()),
                 static_cast<size_t>(bytes.numel()));
  } else {
    text.emplace(source, what);
  }
  const auto spans = array_spans(*text, arrays, what, source);
  std::vector<at::Tensor> out;
  std::vector<std::vector<at::Tensor>> columns(fields.size());
  at::Tensor present = at::zeros({static_cast<int64_t>(arrays.size())}, at::kByte);
  for (size_t a = 0; a < arrays.size(); ++a) {
    std::vector<const Field*> array_fields;
    std::vector<size_t> indices;
    for (size_t f = 0; f < fields.size(); ++f) {
      if (fields[f].array == arrays[a]) {
        array_fields.push_back(&fields[f]);
        indices.push_back(f);
      }
    }
    present.data_ptr<uint8_t>()[a] = spans[a].has_value();
    const std::vector<Chunk> chunks =
        spans[a] ? coco_json::read_list(text->data(), text->capacity(), *spans[a], array_fields,
                                        chunk_bytes)
                 : std::vector<Chunk>{};
    int64_t before = 0;
    for (const Chunk& chunk : chunks) {
      TORCH_CHECK_VALUE(!chunk.failed, "torch_mt.coco_evaluate: ",
                        record_name(what, arrays[a], before + chunk.failed_record), chunk.message,
                        " (", source, ", byte ", chunk.failed_byte, ")");
      before += chunk.records;
    }
    for (size_t i = 0; i < indices.size(); ++i) {
      columns[indices[i]].push_back(column_of(chunks, i, fields[indices[i]], false));
      if (fields[indices[i]].optional) {
        columns[indices[i]].push_back(column_of(chunks, i, fields[indices[i]], true));
      }
      if (fields[indices[i]].kind == 's') {
        for (at::Tensor& part : segmentation_parts(chunks)) {
          columns[indices[i]].push_back(std::move(part));
        }
      }
    }
  }
  for (auto& field_columns : columns) {
    out.insert(out.end(), field_columns.begin(), field_columns.end());
  }
  out.push_back(present);
  return out;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mt, m) {
  // Internal (coco_evaluate's file path): the columns of `fields` ("array.key",
  // "" the top-level list; `kinds` one letter a field, see Field) read from
  // the JSON file `source`, or from `text` (its bytes) when given; `what`
  // names the file in errors ("gt", "dt"); a list of more than
  // `chunk_bytes` is cut into chunks of about that many bytes, parsed on the
  // pool at any thread count (1 MB: a parser's set-up is then negligible,
  // and its structural index stays in cache). Returns each field's
  // column (and after an optional field its status; after a segmentation
  // field, its texts, numbers and polygon lengths), then one byte a list:
  // whether the file has it.
  m.def(
      "_coco_json_columns(str source, Tensor? text, str what, str[] fields, str kinds, "
      "int list_numbers=0, int chunk_bytes=1048576) -> Tensor[]",
      &coco_json_columns);
}

}  // namespace mt::detection
