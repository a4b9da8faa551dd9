// The attachments of a report mail: gzip with zlib, zip with libzip, XML as it is.
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <zip.h>
#include <zlib.h>

#include "core/bounce/detail/mime.hpp"
#include "core/dmarc/report.hpp"
#include "core/util/text.hpp"

namespace outpost::dmarc {

namespace {

using bounce::detail::entity;

bool is_gzip(std::string_view b) {
    return b.size() > 2 && static_cast<unsigned char>(b[0]) == 0x1f &&
           static_cast<unsigned char>(b[1]) == 0x8b;
}

bool is_zip(std::string_view b) {
    return b.size() > 4 && b.substr(0, 4) == std::string_view("PK\x03\x04", 4);
}

bool is_xml(std::string_view b) {
    if (b.starts_with("\xEF\xBB\xBF"))
        b.remove_prefix(3);
    b = util::trim(b);
    return b.starts_with("<?xml") || b.starts_with("<feedback");
}

extracted gunzip(std::string name, std::string_view data) {
    extracted out{std::move(name), {}, {}};
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        out.error = "gzip: cannot start zlib";
        return out;
    }
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    char chunk[65536];
    int rc = Z_OK;
    while (rc == Z_OK) {
        z.next_out = reinterpret_cast<Bytef*>(chunk);
        z.avail_out = sizeof chunk;
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END)
            break;
        out.xml.append(chunk, sizeof chunk - z.avail_out);
        if (out.xml.size() > max_report_size) {
            inflateEnd(&z);
            out.xml.clear();
            out.error = fmt::format("gzip: more than {} bytes once decompressed", max_report_size);
            return out;
        }
        if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0)
            break;  // truncated: no more input, no end of stream
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END) {
        out.xml.clear();
        out.error = "gzip: damaged or truncated";
    }
    return out;
}

void unzip(std::string name, std::string_view data, std::vector<extracted>& found) {
    zip_error_t error;
    zip_error_init(&error);
    auto* source = zip_source_buffer_create(data.data(), data.size(), 0, &error);
    zip_t* archive = source ? zip_open_from_source(source, ZIP_RDONLY, &error) : nullptr;
    if (!archive) {
        if (source)
            zip_source_free(source);
        found.push_back({name, {}, fmt::format("zip: {}", zip_error_strerror(&error))});
        zip_error_fini(&error);
        return;
    }
    zip_error_fini(&error);
    std::unique_ptr<zip_t, decltype(&zip_discard)> owned(archive, &zip_discard);
    auto entries = zip_get_num_entries(archive, 0);
    bool any = false;
    for (zip_int64_t i = 0; i < entries; ++i) {
        zip_stat_t st;
        if (zip_stat_index(archive, static_cast<zip_uint64_t>(i), 0, &st) != 0 || !st.name)
            continue;
        std::string member = st.name;
        if (!util::iequals(
                std::string_view(member).substr(member.size() < 4 ? 0 : member.size() - 4), ".xml"
            ))
            continue;
        any = true;
        extracted out{fmt::format("{}:{}", name, member), {}, {}};
        std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(
            zip_fopen_index(archive, static_cast<zip_uint64_t>(i), 0), &zip_fclose
        );
        if (!file) {
            out.error = fmt::format("zip: cannot open {}", util::printable_ascii(member));
            found.push_back(std::move(out));
            continue;
        }
        char chunk[65536];
        zip_int64_t n = 0;
        while ((n = zip_fread(file.get(), chunk, sizeof chunk)) > 0) {
            out.xml.append(chunk, static_cast<std::size_t>(n));
            if (out.xml.size() > max_report_size)
                break;
        }
        if (n < 0 || out.xml.size() > max_report_size) {
            out.xml.clear();
            out.error =
                n < 0 ? "zip: damaged member"
                      : fmt::format("zip: more than {} bytes once decompressed", max_report_size);
        }
        found.push_back(std::move(out));
    }
    if (!any)
        found.push_back({name, {}, "zip: no .xml member"});
}

std::string name_of(const entity& e) {
    for (const char* field : {"Content-Disposition", "Content-Type"}) {
        auto value = bounce::detail::field_value(e.headers, field);
        for (const char* param : {"filename", "name"}) {
            auto n = bounce::detail::header_parameter(value, param);
            if (!n.empty())
                return util::printable_ascii(n.substr(0, 200));
        }
    }
    return e.media_type;
}

void walk(const entity& e, std::vector<extracted>& found, int depth) {
    if (depth > 12)
        return;
    if (!e.parts.empty()) {
        for (const auto& p : e.parts)
            walk(p, found, depth + 1);
        return;
    }
    const std::string& bytes = e.text.empty() ? e.data : e.text;
    if (is_gzip(bytes))
        found.push_back(gunzip(name_of(e), bytes));
    else if (is_zip(bytes))
        unzip(name_of(e), bytes, found);
    else if (is_xml(bytes))
        found.push_back({name_of(e), bytes, {}});
}

}  // namespace

std::vector<extracted> extract_reports(std::string_view message) {
    std::vector<extracted> found;
    walk(bounce::detail::parse_entity(message), found, 0);
    return found;
}

}  // namespace outpost::dmarc
