// SysRoot: resolves kernel paths under a root directory and does the raw
// file-system calls (read whole file, write one buffer, list, readlink, stat)
// with errors that name the kernel path and keep errno.
#include "irqbpfd/sys/sys_root.hpp"

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <system_error>

namespace irqbpfd::sys {
namespace fs = std::filesystem;

namespace {

bool resolves_to_slash(const fs::path& root) {
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(root, ec);
  return !ec && canonical == fs::path("/");
}

core::Error fail(std::string_view kernel_path, int err) { return core::errno_error(std::string(kernel_path), err); }

// Closes the descriptor on every path out of read() and write().
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};

}  // namespace

SysRoot::SysRoot(fs::path root)
    : root_(root.empty() ? fs::path("/") : std::move(root)), live_(resolves_to_slash(root_)) {}

fs::path SysRoot::path(std::string_view kernel_path) const {
  while (!kernel_path.empty() && kernel_path.front() == '/') kernel_path.remove_prefix(1);
  return root_ / fs::path(kernel_path);
}

core::Result<std::string> SysRoot::read(std::string_view kernel_path) const {
  const fs::path p = path(kernel_path);
  Fd file{::open(p.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) return fail(kernel_path, errno);
  // procfs and sysfs report sizes of 0 or 4096 whatever the content: read to
  // EOF through a stack buffer. Most files here are a line ("ff,ffffffff"):
  // the string is then its exact size, not a zeroed 8 KiB block per file
  // (4000 of them in each affinity refresh on a 2000-IRQ machine).
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(file.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(kernel_path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

core::Result<void> SysRoot::read_stream(std::string_view kernel_path, std::string& buffer,
                                       const std::function<bool(std::string_view)>& on_data) const {
  const fs::path p = path(kernel_path);
  Fd file{::open(p.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) return fail(kernel_path, errno);
  if (buffer.empty()) buffer.resize(64 * 1024);
  while (true) {
    const ssize_t n = ::read(file.fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(kernel_path, errno);
    }
    if (n == 0) return {};
    if (!on_data(std::string_view(buffer.data(), static_cast<std::size_t>(n)))) return {};
  }
}

core::Result<void> SysRoot::write(std::string_view kernel_path, std::string_view content) const {
  const fs::path p = path(kernel_path);
  Fd file{::open(p.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC)};
  if (file.fd < 0) return fail(kernel_path, errno);
  ssize_t n;
  do {
    n = ::write(file.fd, content.data(), content.size());
  } while (n < 0 && errno == EINTR);  // interrupted before anything was taken
  if (n < 0) return fail(kernel_path, errno);
  if (static_cast<std::size_t>(n) != content.size()) {
    return core::Error{fmt::format("{}: short write ({} of {} bytes)", kernel_path, n, content.size())};
  }
  // Some file systems report a failed write only at close (never procfs).
  const int fd = file.fd;
  file.fd = -1;
  if (::close(fd) != 0) return fail(kernel_path, errno);
  return {};
}

core::Result<std::optional<std::string>> SysRoot::read_if_exists(std::string_view kernel_path) const {
  auto text = read(kernel_path);
  if (text) return std::optional<std::string>(std::move(*text));
  if (text.error().errno_value == ENOENT) return std::optional<std::string>();
  return text.error();
}

core::Result<std::vector<std::string>> SysRoot::list(std::string_view kernel_dir) const {
  const fs::path p = path(kernel_dir);
  const std::unique_ptr<DIR, DirCloser> dir(::opendir(p.c_str()));
  if (!dir) return fail(kernel_dir, errno);
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) {
      if (errno != 0) return fail(kernel_dir, errno);
      break;
    }
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

core::Result<std::string> SysRoot::read_link(std::string_view kernel_path) const {
  const fs::path p = path(kernel_path);
  std::string buffer(256, '\0');
  while (true) {
    const ssize_t n = ::readlink(p.c_str(), buffer.data(), buffer.size());
    if (n < 0) return fail(kernel_path, errno);
    if (static_cast<std::size_t>(n) < buffer.size()) {
      buffer.resize(static_cast<std::size_t>(n));
      return buffer;
    }
    buffer.resize(buffer.size() * 2);  // possibly truncated: try again, larger
  }
}

core::Result<unsigned> SysRoot::mode(std::string_view kernel_path) const {
  const fs::path p = path(kernel_path);
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return fail(kernel_path, errno);
  return static_cast<unsigned>(st.st_mode & 07777);
}

bool SysRoot::exists(std::string_view kernel_path) const {
  const fs::path p = path(kernel_path);
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

}  // namespace irqbpfd::sys
