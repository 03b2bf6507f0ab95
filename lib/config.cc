#include "lib/config.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include <toml.hpp>

namespace ctrnn {

struct ConfigBuilder {
  static void Fill(const toml::value& table, Config* out) {
    for (const auto& [key, v] : table.as_table()) {
      if (v.is_table()) {
        auto child = std::unique_ptr<Config>(
            new Config(out->path_.empty() ? key : out->path_ + "." + key, out->source_));
        Fill(v, child.get());
        out->table_order_.push_back(key);
        out->tables_[key] = std::move(child);
      } else if (v.is_boolean()) {
        out->values_[key] = v.as_boolean();
      } else if (v.is_integer()) {
        out->values_[key] = static_cast<std::int64_t>(v.as_integer());
      } else if (v.is_floating()) {
        out->values_[key] = static_cast<double>(v.as_floating());
      } else if (v.is_string()) {
        out->values_[key] = static_cast<std::string>(v.as_string());
      } else if (v.is_array() && std::all_of(v.as_array().begin(),
                                             v.as_array().end(),
                                             [](const toml::value& e) { return e.is_string(); })) {
        std::vector<std::string> list;
        for (const toml::value& e : v.as_array()) list.push_back(e.as_string());
        out->lists_[key] = std::move(list);
      } else {
        throw std::invalid_argument(out->source_ + ": " +
                                    (out->path_.empty() ? key : out->path_ + "." + key) +
                                    ": arrays and dates are not accepted here");
      }
    }
  }
};

Config Config::ParseFile(const std::string& path) {
  toml::value root;
  try {
    root = toml::parse(path);
  } catch (const std::exception& e) {
    throw std::runtime_error("config file '" + path + "': " + e.what());
  }
  Config c("", path);
  ConfigBuilder::Fill(root, &c);
  return c;
}

Config Config::ParseString(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  toml::value root;
  try {
    root = toml::parse(in, source);
  } catch (const std::exception& e) {
    throw std::runtime_error("config '" + source + "': " + e.what());
  }
  Config c("", source);
  ConfigBuilder::Fill(root, &c);
  return c;
}

std::string Config::Where(const std::string& key) const {
  std::string full = path_.empty() ? key : path_ + "." + key;
  return source_.empty() ? full : source_ + ": " + full;
}

bool Config::Has(const std::string& key) const {
  return values_.count(key) > 0 || tables_.count(key) > 0 || lists_.count(key) > 0;
}

const Config::Value* Config::Lookup(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) {
    if (tables_.count(key)) {
      throw std::invalid_argument(Where(key) + ": expected a value, found a table");
    }
    return nullptr;
  }
  return &it->second;
}

void Config::Set(const std::string& key, const Value& value) {
  if (tables_.count(key)) {
    throw std::invalid_argument(Where(key) + ": is a table, cannot set a value");
  }
  values_[key] = value;
}

void Config::Record(const std::string& key, const Value& value) {
  if (!resolved_.count(key)) resolved_order_.push_back(key);
  resolved_[key] = value;
}

bool Config::GetBool(const std::string& key, bool fallback) {
  bool out = fallback;
  if (const Value* v = Lookup(key)) {
    if (!std::holds_alternative<bool>(*v)) {
      throw std::invalid_argument(Where(key) + ": expected true or false");
    }
    out = std::get<bool>(*v);
  }
  Record(key, out);
  return out;
}

std::int64_t Config::GetInt(const std::string& key,
                            std::int64_t fallback,
                            std::int64_t lo,
                            std::int64_t hi) {
  std::int64_t out = fallback;
  if (const Value* v = Lookup(key)) {
    if (!std::holds_alternative<std::int64_t>(*v)) {
      throw std::invalid_argument(Where(key) + ": expected an integer");
    }
    out = std::get<std::int64_t>(*v);
  }
  if (out < lo || out > hi) {
    throw std::invalid_argument(Where(key) + " = " + std::to_string(out) + ": must lie in [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  Record(key, out);
  return out;
}

double Config::GetDouble(const std::string& key, double fallback, double lo, double hi) {
  double out = fallback;
  if (const Value* v = Lookup(key)) {
    if (std::holds_alternative<double>(*v)) {
      out = std::get<double>(*v);
    } else if (std::holds_alternative<std::int64_t>(*v)) {
      out = static_cast<double>(std::get<std::int64_t>(*v));
    } else {
      throw std::invalid_argument(Where(key) + ": expected a number");
    }
  }
  if (!(out >= lo && out <= hi)) {  // also rejects NaN
    std::ostringstream msg;
    msg << Where(key) << " = " << out << ": must lie in [" << lo << ", " << hi << "]";
    throw std::invalid_argument(msg.str());
  }
  Record(key, out);
  return out;
}

std::string Config::GetString(const std::string& key,
                              const std::string& fallback,
                              const std::vector<std::string>& allowed) {
  std::string out = fallback;
  if (const Value* v = Lookup(key)) {
    if (!std::holds_alternative<std::string>(*v)) {
      throw std::invalid_argument(Where(key) + ": expected a string");
    }
    out = std::get<std::string>(*v);
  }
  if (!allowed.empty()) {
    bool ok = false;
    for (const std::string& a : allowed) ok = ok || a == out;
    if (!ok) {
      std::string list;
      for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw std::invalid_argument(Where(key) + " = \"" + out + "\": must be one of " + list);
    }
  }
  Record(key, out);
  return out;
}

std::vector<std::string> Config::GetStringList(const std::string& key,
                                               const std::vector<std::string>& fallback) {
  std::vector<std::string> out = fallback;
  if (auto it = lists_.find(key); it != lists_.end()) {
    out = it->second;
  } else if (values_.count(key) || tables_.count(key)) {
    throw std::invalid_argument(Where(key) + ": expected an array of strings");
  }
  if (!resolved_lists_.count(key)) resolved_order_.push_back(key);
  resolved_lists_[key] = out;
  return out;
}

Config& Config::Sub(const std::string& key) {
  if (values_.count(key)) {
    throw std::invalid_argument(Where(key) + ": expected a table [" +
                                (path_.empty() ? key : path_ + "." + key) + "]");
  }
  auto it = tables_.find(key);
  if (it == tables_.end()) {
    table_order_.push_back(key);
    it = tables_
             .emplace(key,
                      std::unique_ptr<Config>(
                          new Config(path_.empty() ? key : path_ + "." + key, source_)))
             .first;
  }
  return *it->second;
}

void Config::CollectUnused(std::vector<std::string>* out) const {
  for (const auto& [key, v] : values_) {
    (void)v;
    if (!resolved_.count(key)) out->push_back(path_.empty() ? key : path_ + "." + key);
  }
  for (const auto& [key, l] : lists_) {
    (void)l;
    if (!resolved_lists_.count(key)) out->push_back(path_.empty() ? key : path_ + "." + key);
  }
  for (const auto& [key, t] : tables_) {
    (void)key;
    t->CollectUnused(out);
  }
}

void Config::CheckAllUsed() const {
  std::vector<std::string> unused;
  CollectUnused(&unused);
  if (unused.empty()) return;
  std::string list;
  for (const std::string& k : unused) list += (list.empty() ? "" : ", ") + k;
  throw std::invalid_argument((source_.empty() ? "" : source_ + ": ") + "unknown key" +
                              (unused.size() > 1 ? "s " : " ") + list);
}

namespace {

std::string TomlLiteral(const Config::Value& v) {
  if (std::holds_alternative<bool>(v)) return std::get<bool>(v) ? "true" : "false";
  if (std::holds_alternative<std::int64_t>(v)) return std::to_string(std::get<std::int64_t>(v));
  if (std::holds_alternative<double>(v)) {
    const double d = std::get<double>(v);
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    std::ostringstream s;
    s << std::setprecision(17) << d;
    std::string out = s.str();
    if (out.find_first_of(".eEn") == std::string::npos) out += ".0";
    return out;
  }
  std::string out = "\"";
  for (char c : std::get<std::string>(v)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void Config::WriteToml(const std::string& prefix, std::string* out) const {
  for (const std::string& key : resolved_order_) {
    if (auto it = resolved_lists_.find(key); it != resolved_lists_.end()) {
      std::string items;
      for (const std::string& e : it->second) {
        items += (items.empty() ? "" : ", ") + TomlLiteral(Value(e));
      }
      *out += key + " = [" + items + "]\n";
      continue;
    }
    *out += key + " = " + TomlLiteral(resolved_.at(key)) + "\n";
  }
  for (const std::string& key : table_order_) {
    const Config& t = *tables_.at(key);
    const std::string name = prefix.empty() ? key : prefix + "." + key;
    std::string body;
    t.WriteToml(name, &body);
    if (body.empty()) continue;
    *out += "\n[" + name + "]\n" + body;
  }
}

std::string Config::ToToml() const {
  std::string out;
  WriteToml(path_, &out);
  return out;
}

std::vector<std::pair<std::string, Config::Value>> Config::ResolvedLeaves() const {
  std::vector<std::pair<std::string, Value>> out;
  for (const std::string& key : resolved_order_) {
    const std::string full = path_.empty() ? key : path_ + "." + key;
    if (auto it = resolved_lists_.find(key); it != resolved_lists_.end()) {
      std::string joined;  // lists are archived as one comma-separated string attribute
      for (const std::string& e : it->second) joined += (joined.empty() ? "" : ", ") + e;
      out.emplace_back(full, joined);
      continue;
    }
    out.emplace_back(full, resolved_.at(key));
  }
  for (const std::string& key : table_order_) {
    // Sub-tables carry their full dotted path already.
    std::vector<std::pair<std::string, Value>> sub = tables_.at(key)->ResolvedLeaves();
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

}  // namespace ctrnn
