// The row-wise edit distance on strings read in place (strings.h): each
// worker reads its chunk's strings through the owner's reader, compares
// 1-byte pairs where they lie and widens the others a pair at a time, so
// no serial pass over the strings precedes the fan-out.
#include "strings.h"

#include <atomic>
#include <cstring>

#include <torch_mt/parallel.h>
#include "edit_distance_kernels.h"

namespace mt::strings {
namespace {

using namespace edit_distance_family;

// Whether `size` bytes are all ASCII (then UTF-8 is one byte a code point).
bool all_ascii(const unsigned char* bytes, int64_t size) {
  unsigned bits = 0;
  for (int64_t i = 0; i < size; ++i) {
    bits |= bytes[i];  // no early exit: the loop vectorises
  }
  return bits < 0x80;
}

template <typename Unit>
void append_units(const void* data, int64_t length, std::vector<int32_t>& out) {
  const Unit* units = static_cast<const Unit*>(data);
  out.insert(out.end(), units, units + length);
}

// The code points of a view, appended to `out`.
void append_code_points(const char* op, const StringView& view, const char* name, int64_t item,
                        std::vector<int32_t>& out) {
  switch (view.unit_bytes) {
    case kUtf8:
      decode_utf8(op, static_cast<const char*>(view.data), view.length, name, item, out);
      break;
    case 1: append_units<uint8_t>(view.data, view.length, out); break;
    case 2: append_units<uint16_t>(view.data, view.length, out); break;
    default: append_units<int32_t>(view.data, view.length, out); break;
  }
}

// A view of ASCII-only UTF-8 as the 1-byte string it is.
StringView narrowed(StringView view) {
  if (view.unit_bytes == kUtf8 &&
      all_ascii(static_cast<const unsigned char*>(view.data), view.length)) {
    view.unit_bytes = 1;
  }
  return view;
}

// Work of a typical pair (40 characters a side) in word steps: the grain's
// estimate, as the lengths are not known before the workers read them.
constexpr int64_t kTypicalPairSteps = 40;

}  // namespace

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

bool edit_distances(const char* op, StringSide a, StringSide b, int64_t count, int64_t bound,
                    int64_t* distances) {
  std::atomic<bool> unreadable{false};
  ItemErrors errors;
  parallel_for(
      0, count, grain_for(kWordStepNs * kTypicalPairSteps), [&](int64_t first, int64_t last) {
        // Code points of the pair being widened, reused pair after pair. Declared
        // before the workspaces: their release at the chunk's end reads the last
        // pattern in them.
        std::vector<int32_t> x, y;
        BorrowedWorkspace<uint8_t> bytes;
        BorrowedWorkspace<int32_t> wide;
        auto& byte_pairs = bytes->pairs;
        byte_pairs.clear();
        for (int64_t i = first; i < last; ++i) {
          const StringView u = narrowed(a.read(a.items, i)), v = narrowed(b.read(b.items, i));
          if (u.unit_bytes == kUnreadable || v.unit_bytes == kUnreadable) {
            unreadable.store(true, std::memory_order_relaxed);
            return;
          }
          if (u.unit_bytes == 1 && v.unit_bytes == 1) {  // compared where they lie, below
            byte_pairs.push_back(trim(static_cast<const uint8_t*>(u.data), u.length,
                                      static_cast<const uint8_t*>(v.data), v.length, i));
            continue;
          }
          errors.run(i, [&] {
            wide->pattern.release();  // it reads the previous pair's x or y
            x.clear(), y.clear();
            append_code_points(op, u, a.name, i, x);
            append_code_points(op, v, b.name, i, y);
            distances[i] = pair_distance(*wide, x.data(), static_cast<int64_t>(x.size()), y.data(),
                                         static_cast<int64_t>(y.size()), bound);
          });
        }
        trimmed_pairs_distances(*bytes, byte_pairs, bound, distances);
      });
  errors.rethrow();
  return !unreadable.load(std::memory_order_relaxed);
}

}  // namespace mt::strings
