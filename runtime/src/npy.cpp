//===- npy.cpp - reading and writing .npy files ---------------------------===//
//
// The reader takes untrusted bytes: every length is checked against what is
// left of the buffer, the header is parsed by hand (no eval), and element
// counts are checked for overflow before anything is allocated.
//
//===----------------------------------------------------------------------===//

#include "internal.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace kiln::rt;

namespace {

constexpr unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr size_t kMaxHeader = 1 << 20;

struct Cursor {
  const std::string &s;
  size_t i = 0;
  void skipSpace() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n'))
      ++i;
  }
  bool eat(char c) {
    skipSpace();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  bool quoted(std::string &out) {
    skipSpace();
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"'))
      return false;
    char q = s[i++];
    size_t start = i;
    while (i < s.size() && s[i] != q)
      ++i;
    if (i >= s.size())
      return false;
    out = s.substr(start, i - start);
    ++i;
    return true;
  }
  bool word(std::string &out) {
    skipSpace();
    size_t start = i;
    while (i < s.size() && isalpha(static_cast<unsigned char>(s[i])))
      ++i;
    out = s.substr(start, i - start);
    return !out.empty();
  }
  bool integer(int64_t &out) {
    skipSpace();
    size_t start = i;
    out = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (out > (INT64_MAX - 9) / 10)
        return false;
      out = out * 10 + (s[i] - '0');
      ++i;
    }
    if (i < s.size() && s[i] == 'L')
      ++i;
    return i > start;
  }
};

bool dtypeFromDescr(const std::string &d, kiln_dtype *out) {
  struct {
    const char *descr;
    kiln_dtype dtype;
  } table[] = {{"<f4", KILN_F32}, {"<f2", KILN_F16}, {"<f8", KILN_F64},
               {"<i8", KILN_I64}, {"<i4", KILN_I32}, {"<i2", KILN_I16},
               {"|i1", KILN_I8},  {"|u1", KILN_U8},  {"|b1", KILN_BOOL},
               {"<u1", KILN_U8},  {"<i1", KILN_I8},  {"<b1", KILN_BOOL}};
  for (auto &t : table)
    if (d == t.descr) {
      *out = t.dtype;
      return true;
    }
  return false;
}

const char *descrOf(kiln_dtype d) {
  switch (d) {
  case KILN_F32:
    return "<f4";
  case KILN_F16:
    return "<f2";
  case KILN_F64:
    return "<f8";
  case KILN_I64:
    return "<i8";
  case KILN_I32:
    return "<i4";
  case KILN_I16:
    return "<i2";
  case KILN_I8:
    return "|i1";
  case KILN_U8:
    return "|u1";
  case KILN_BOOL:
    return "|b1";
  default:
    return nullptr;
  }
}

} // namespace

extern "C" kiln_status *kiln_npy_parse(const void *bytes, size_t size,
                                       kiln_tensor *out) {
  if (!out)
    return error(KILN_INVALID_ARGUMENT, "kiln_npy_parse: out is NULL");
  memset(out, 0, sizeof(*out));
  if (!bytes && size)
    return error(KILN_INVALID_ARGUMENT, "kiln_npy_parse: bytes is NULL");
  auto *p = static_cast<const unsigned char *>(bytes);
  if (size < 10 || memcmp(p, kMagic, 6) != 0)
    return error(KILN_FORMAT_ERROR, "not a .npy file (bad magic)");
  unsigned major = p[6];
  size_t headerLen, offset;
  if (major == 1) {
    headerLen = p[8] | (p[9] << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12)
      return error(KILN_FORMAT_ERROR, ".npy header is truncated");
    headerLen =
        p[8] | (p[9] << 8) | (size_t(p[10]) << 16) | (size_t(p[11]) << 24);
    offset = 12;
  } else {
    return error(KILN_UNSUPPORTED, ".npy format version %u is not supported",
                 major);
  }
  if (headerLen > kMaxHeader || headerLen > size - offset)
    return error(KILN_FORMAT_ERROR, ".npy header is truncated");
  std::string header(reinterpret_cast<const char *>(p + offset), headerLen);
  size_t dataOffset = offset + headerLen;

  std::string descr;
  bool fortran = false, sawDescr = false, sawOrder = false, sawShape = false;
  std::vector<int64_t> shape;
  Cursor c{header};
  if (!c.eat('{'))
    return error(KILN_FORMAT_ERROR, ".npy header is not a dictionary");
  while (!c.eat('}')) {
    std::string key;
    if (!c.quoted(key) || !c.eat(':'))
      return error(KILN_FORMAT_ERROR, ".npy header: malformed entry");
    if (key == "descr") {
      if (!c.quoted(descr))
        return error(KILN_FORMAT_ERROR, ".npy header: descr is not a string");
      sawDescr = true;
    } else if (key == "fortran_order") {
      std::string w;
      if (!c.word(w) || (w != "True" && w != "False"))
        return error(KILN_FORMAT_ERROR, ".npy header: bad fortran_order");
      fortran = w == "True";
      sawOrder = true;
    } else if (key == "shape") {
      if (!c.eat('('))
        return error(KILN_FORMAT_ERROR, ".npy header: shape is not a tuple");
      while (!c.eat(')')) {
        int64_t d;
        if (!c.integer(d))
          return error(KILN_FORMAT_ERROR, ".npy header: bad dimension");
        if (shape.size() >= KILN_MAX_RANK)
          return error(KILN_UNSUPPORTED, ".npy rank exceeds %d", KILN_MAX_RANK);
        shape.push_back(d);
        if (!c.eat(',') &&
            !(c.skipSpace(), c.i < header.size() && header[c.i] == ')'))
          return error(KILN_FORMAT_ERROR, ".npy header: bad shape tuple");
      }
      sawShape = true;
    } else {
      return error(KILN_FORMAT_ERROR, ".npy header: unknown key '%s'",
                   key.c_str());
    }
    if (!c.eat(',') &&
        !(c.skipSpace(), c.i < header.size() && header[c.i] == '}'))
      return error(KILN_FORMAT_ERROR, ".npy header: expected ',' or '}'");
  }
  if (!sawDescr || !sawOrder || !sawShape)
    return error(KILN_FORMAT_ERROR, ".npy header lacks descr, fortran_order "
                                    "or shape");
  if (fortran)
    return error(KILN_UNSUPPORTED, ".npy file is in Fortran order");
  kiln_dtype dtype;
  if (!dtypeFromDescr(descr, &dtype))
    return error(KILN_UNSUPPORTED, ".npy dtype '%s' is not supported",
                 descr.c_str());
  int64_t n = kiln_num_elements(shape.size(), shape.data());
  int64_t nbytes;
  if (n < 0 || mulOverflow(n, kiln_dtype_size(dtype), &nbytes))
    return error(KILN_FORMAT_ERROR, ".npy shape is too large");
  if (static_cast<uint64_t>(nbytes) > size - dataOffset)
    return error(KILN_FORMAT_ERROR,
                 ".npy data is truncated: %lld bytes expected, %zu present",
                 (long long)nbytes, size - dataOffset);
  void *data = alignedAlloc(nbytes);
  if (!data)
    return error(KILN_OUT_OF_MEMORY, "cannot allocate %lld bytes",
                 (long long)nbytes);
  memcpy(data, p + dataOffset, nbytes);
  out->dtype = dtype;
  out->rank = shape.size();
  for (size_t i = 0; i < shape.size(); ++i)
    out->shape[i] = shape[i];
  out->data = data;
  out->size_bytes = nbytes;
  return nullptr;
}

extern "C" kiln_status *kiln_npy_read(const char *path, kiln_tensor *out) {
  if (!path || !out)
    return error(KILN_INVALID_ARGUMENT, "kiln_npy_read: NULL argument");
  FILE *f = fopen(path, "rb");
  if (!f)
    return error(KILN_IO_ERROR, "cannot open '%s': %s", path, strerror(errno));
  std::vector<unsigned char> buf;
  unsigned char chunk[1 << 16];
  size_t got;
  while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
    buf.insert(buf.end(), chunk, chunk + got);
  bool failed = ferror(f);
  fclose(f);
  if (failed)
    return error(KILN_IO_ERROR, "cannot read '%s'", path);
  kiln_status *s = kiln_npy_parse(buf.data(), buf.size(), out);
  if (s)
    s->message = "'" + std::string(path) + "': " + s->message;
  return s;
}

extern "C" kiln_status *kiln_npy_write(const char *path, const kiln_tensor *t) {
  if (!path || !t)
    return error(KILN_INVALID_ARGUMENT, "kiln_npy_write: NULL argument");
  const char *descr = descrOf(t->dtype);
  if (!descr)
    return error(KILN_UNSUPPORTED, ".npy cannot hold dtype %s",
                 kiln_dtype_name(t->dtype));
  int64_t n = kiln_num_elements(t->rank, t->shape);
  int64_t nbytes;
  if (n < 0 || mulOverflow(n, kiln_dtype_size(t->dtype), &nbytes) ||
      static_cast<size_t>(nbytes) > t->size_bytes || (nbytes && !t->data))
    return error(KILN_INVALID_ARGUMENT, "kiln_npy_write: inconsistent tensor");
  std::string shape = "(";
  for (int32_t i = 0; i < t->rank; ++i)
    shape += std::to_string(t->shape[i]) +
             (t->rank == 1 ? "," : (i + 1 < t->rank ? ", " : ""));
  shape += ")";
  std::string header = "{'descr': '" + std::string(descr) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  FILE *f = fopen(path, "wb");
  if (!f)
    return error(KILN_IO_ERROR, "cannot create '%s': %s", path,
                 strerror(errno));
  unsigned char pre[10] = {0x93,
                           'N',
                           'U',
                           'M',
                           'P',
                           'Y',
                           1,
                           0,
                           static_cast<unsigned char>(header.size() & 0xff),
                           static_cast<unsigned char>(header.size() >> 8)};
  bool ok = fwrite(pre, 1, 10, f) == 10 &&
            fwrite(header.data(), 1, header.size(), f) == header.size() &&
            (nbytes == 0 ||
             fwrite(t->data, 1, nbytes, f) == static_cast<size_t>(nbytes));
  ok = (fclose(f) == 0) && ok;
  if (!ok)
    return error(KILN_IO_ERROR, "cannot write '%s'", path);
  return nullptr;
}
