/// The one rule for text from outside (a server's error message, a `Name` tag) on its way to
/// a terminal or a line-oriented file: newline, CR, tab, ESC and every other C0 control, DEL,
/// the C1 controls and the Unicode line and paragraph separators become visible escapes
/// (`\n`, `\r`, `\t`, `\u001B`, ...). Such text can then neither forge a line nor drive the
/// reader's terminal. The `\uXXXX` form is also a valid JSON escape, so a JSON line stays
/// valid JSON. The command's stderr lines and its text output both go through it.
public enum ControlCharacters {
    /// `text` with every control character escaped; `text` itself when it has none.
    public static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else { out.append(scalar); continue }
            switch scalar {
            case "\n": out.append(contentsOf: #"\n"#.unicodeScalars)
            case "\r": out.append(contentsOf: #"\r"#.unicodeScalars)
            case "\t": out.append(contentsOf: #"\t"#.unicodeScalars)
            default:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex).unicodeScalars)
            }
        }
        return String(out)
    }

    /// C0 (U+0000–U+001F), DEL and C1 (U+007F–U+009F), LINE and PARAGRAPH SEPARATOR.
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: return true
        default: return false
        }
    }
}
