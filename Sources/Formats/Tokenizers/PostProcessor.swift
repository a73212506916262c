// PostProcessor: what happens after the model turned words into ids: BERT's `[CLS] A [SEP] B
// [SEP]` templates (TemplateProcessing, BertProcessing, RobertaProcessing) and the byte-level
// offset trimming (ByteLevel with trim_offsets). Not truncation or padding.

/// One item of a template: a sequence (A or B) or a special token, with the type id it gets.
enum TemplateItem: Sendable {
    case sequence(second: Bool, typeId: Int)
    case special(name: String, typeId: Int)
}

indirect enum PostProcessor: Sendable {
    case none
    case template(single: [TemplateItem], pair: [TemplateItem], specials: [String: [(token: String, id: Int)]])
    case byteLevel(trimOffsets: Bool, addPrefixSpace: Bool)
    case sequence([PostProcessor])

    /// BertProcessing: `[CLS] A [SEP]` (type 0), then `B [SEP]` (type 1).
    static func bert(cls: (String, Int), sep: (String, Int)) -> PostProcessor {
        .template(
            single: [.special(name: cls.0, typeId: 0), .sequence(second: false, typeId: 0), .special(name: sep.0, typeId: 0)],
            pair: [.special(name: cls.0, typeId: 0), .sequence(second: false, typeId: 0), .special(name: sep.0, typeId: 0),
                   .sequence(second: true, typeId: 1), .special(name: sep.0, typeId: 1)],
            specials: [cls.0: [(cls.0, cls.1)], sep.0: [(sep.0, sep.1)]])
    }

    /// RobertaProcessing: `<s> A </s>` and `<s> A </s> </s> B </s>`, all type 0, after trimming offsets.
    static func roberta(cls: (String, Int), sep: (String, Int), trimOffsets: Bool, addPrefixSpace: Bool) -> PostProcessor {
        .sequence([
            .byteLevel(trimOffsets: trimOffsets, addPrefixSpace: addPrefixSpace),
            .template(
                single: [.special(name: cls.0, typeId: 0), .sequence(second: false, typeId: 0), .special(name: sep.0, typeId: 0)],
                pair: [.special(name: cls.0, typeId: 0), .sequence(second: false, typeId: 0), .special(name: sep.0, typeId: 0),
                       .special(name: sep.0, typeId: 0), .sequence(second: true, typeId: 0), .special(name: sep.0, typeId: 0)],
                specials: [cls.0: [(cls.0, cls.1)], sep.0: [(sep.0, sep.1)]]),
        ])
    }

    /// Processes the encodings of A (and B); returns one encoding per remaining part, merged by the caller.
    func process(_ parts: [Encoding], addSpecialTokens: Bool) -> [Encoding] {
        switch self {
        case .none:
            return parts
        case .sequence(let list):
            return list.reduce(parts) { $1.process($0, addSpecialTokens: addSpecialTokens) }
        case let .byteLevel(trim, addPrefixSpace):
            guard trim else { return parts }
            return parts.map { trimByteLevelOffsets($0, addPrefixSpace: addPrefixSpace) }
        case let .template(single, pair, specials):
            guard addSpecialTokens else { return parts }
            let items = parts.count > 1 ? pair : single
            var out = Encoding()
            for item in items {
                switch item {
                case let .sequence(second, typeId):
                    let index = second ? 1 : 0
                    guard index < parts.count else { continue }
                    var e = parts[index]
                    e.typeIds = Array(repeating: typeId, count: e.count)
                    out.append(contentsOf: e)
                case let .special(name, typeId):
                    for (token, id) in specials[name] ?? [] {
                        out.append(id: id, token: token, typeId: typeId, offset: 0..<0)
                    }
                }
            }
            return [out]
        }
    }
}

/// HF's ByteLevel offset trimming: a token's leading and trailing 'Ġ' (encoded spaces) are not
/// part of its offsets. Exception: the first token's single leading space when the pre-tokenizer
/// added it (add_prefix_space), which stays.
///   start = min(start + leading, end);  end = max(end - trailing, start)
private func trimByteLevelOffsets(_ e: Encoding, addPrefixSpace: Bool) -> Encoding {
    var e = e
    let space = ByteAlphabet.byteToChar[0x20]
    for i in 0..<e.count {
        let scalars = Array(e.tokens[i].unicodeScalars)
        func isSpace(_ c: Unicode.Scalar) -> Bool { c == space || c.properties.isWhitespace }
        var leading = scalars.prefix(while: isSpace).count
        let trailing = scalars.reversed().prefix(while: isSpace).count
        guard leading > 0 || trailing > 0 else { continue }
        var lo = e.offsets[i].lowerBound
        var hi = e.offsets[i].upperBound
        if leading > 0 {
            let isFirst = i == 0 || lo == 0
            if isFirst && addPrefixSpace && leading == 1 { leading = 0 }
            lo = min(lo + leading, hi)
        }
        if trailing > 0 && hi >= trailing {
            hi = max(hi - trailing, lo)
        }
        e.offsets[i] = lo..<hi
    }
    return e
}
