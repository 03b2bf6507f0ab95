// Configuration tables read from TOML, with strict checking: every key a component reads is
// recorded with the value it resolved to (given or default), and CheckAllUsed() rejects any key
// nobody read. The resolved tree is what the archive stores under /config.
//
//   Config c = Config::ParseFile("run.toml");
//   int n = c.Sub("model").GetInt("N", 100, 1, 100000);   // "model.N = 0" -> error naming it
//   c.CheckAllUsed();                                      // "model.Nx: unknown key"
#ifndef CTRNN_LIB_CONFIG_H_
#define CTRNN_LIB_CONFIG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ctrnn {

class Config {
 public:
  using Value = std::variant<bool, std::int64_t, double, std::string>;

  Config() = default;
  // Parses TOML. Throws std::runtime_error naming the file and the parser's message.
  static Config ParseFile(const std::string& path);
  static Config ParseString(const std::string& text, const std::string& source);

  // Dotted path of this table from the root ("" for the root, "model" for [model]).
  const std::string& path() const { return path_; }
  bool Has(const std::string& key) const;

  // Typed getters. A missing key yields the default, and either way the resolved value is recorded.
  // A wrong type or a value outside [lo, hi] throws std::invalid_argument naming path.key and
  // value.
  bool GetBool(const std::string& key, bool fallback);
  std::int64_t GetInt(const std::string& key,
                      std::int64_t fallback,
                      std::int64_t lo,
                      std::int64_t hi);
  double GetDouble(const std::string& key, double fallback, double lo, double hi);
  std::string GetString(const std::string& key,
                        const std::string& fallback,
                        const std::vector<std::string>& allowed = {});
  // A list of strings (a TOML array of strings), e.g. trainable = ["U", "V"]. A missing key yields
  // the fallback. A value that is not an array of strings throws naming path.key.
  std::vector<std::string> GetStringList(const std::string& key,
                                         const std::vector<std::string>& fallback);
  // The nested table `key` (created empty if absent). Throws if `key` holds a value.
  Config& Sub(const std::string& key);

  // Sets (or overrides) a value before anything reads it, e.g. from a command-line flag.
  void Set(const std::string& key, const Value& value);

  // Records a value computed rather than read (e.g. a derived size), for the archive.
  void Record(const std::string& key, const Value& value);

  // Throws std::invalid_argument naming every key in this tree that nothing read.
  void CheckAllUsed() const;
  // The resolved tree (read and recorded keys only) as TOML text.
  std::string ToToml() const;
  // The same resolved values as a flat list: the dotted path from the root ("model.N") and the
  // value, this table's keys first (in first-read order), then each sub-table's. For the archive.
  std::vector<std::pair<std::string, Value>> ResolvedLeaves() const;

 private:
  Config(std::string path, std::string source)
      : path_(std::move(path)), source_(std::move(source)) {}
  std::string Where(const std::string& key) const;
  const Value* Lookup(const std::string& key) const;
  void CollectUnused(std::vector<std::string>* out) const;
  void WriteToml(const std::string& prefix, std::string* out) const;
  friend struct ConfigBuilder;

  std::string path_;
  std::string source_;
  std::map<std::string, Value> values_;
  std::map<std::string, std::vector<std::string>> lists_;
  std::map<std::string, std::vector<std::string>> resolved_lists_;
  std::map<std::string, std::unique_ptr<Config>> tables_;
  std::vector<std::string> table_order_;
  std::map<std::string, Value> resolved_;
  std::vector<std::string> resolved_order_;

 public:
  Config(Config&&) = default;
  Config& operator=(Config&&) = default;
};

}  // namespace ctrnn

#endif  // CTRNN_LIB_CONFIG_H_
