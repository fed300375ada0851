// mt::strings: UTF-8 decoding and code points of strings read in place
// (<torch_mt/strings.h>).
#include <c10/util/Exception.h>

#include <torch_mt/strings.h>

namespace mt::strings {

void decode_utf8(const char* op, const char* text, int64_t size, const char* name, int64_t item,
                 std::vector<int32_t>& out) {
  const auto* byte = reinterpret_cast<const unsigned char*>(text);
  const auto* end = byte + size;
  const auto* begin = byte;
  while (byte < end) {
    const auto* start = byte;
    const unsigned lead = *byte++;
    if (lead < 0x80) {  // ASCII, the common case
      out.push_back(static_cast<int32_t>(lead));
      continue;
    }
    const int extra = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : -1;
    bool valid = extra > 0 && lead < 0xF5 && end - byte >= extra;
    uint32_t code = valid ? lead & (0x3F >> extra) : 0;
    for (int k = 0; valid && k < extra; ++k, ++byte) {
      valid = (*byte & 0xC0) == 0x80;
      code = (code << 6) | (*byte & 0x3F);
    }
    // Overlong forms and values past U+10FFFF are not UTF-8. (Surrogates are
    // kept: Python's surrogatepass writes them, and they are code points.)
    constexpr uint32_t kSmallest[] = {0, 0x80, 0x800, 0x10000};
    valid = valid && code >= kSmallest[extra] && code <= 0x10FFFF;
    TORCH_CHECK_VALUE(valid, op, ": ", name, "[", item,
                      "] is not valid UTF-8 (the character at byte ", start - begin, ")");
    out.push_back(static_cast<int32_t>(code));
  }
}

namespace {

template <typename Unit>
void append_units(const void* data, int64_t length, std::vector<int32_t>& out) {
  const Unit* units = static_cast<const Unit*>(data);
  out.insert(out.end(), units, units + length);
}

}  // namespace

void append_code_points(const char* op, StringView text, const char* name, int64_t item,
                        std::vector<int32_t>& out) {
  switch (text.unit_bytes) {
    case kUtf8:
      decode_utf8(op, static_cast<const char*>(text.data), text.length, name, item, out);
      break;
    case 1: append_units<uint8_t>(text.data, text.length, out); break;
    case 2: append_units<uint16_t>(text.data, text.length, out); break;
    default: append_units<int32_t>(text.data, text.length, out); break;
  }
}

}  // namespace mt::strings
