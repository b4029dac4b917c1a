using System.Globalization;

namespace Autoscale.Policies.Keda;

/// <summary>
/// The formula of a ScaledObject's <c>advanced.scalingModifiers</c>, parsed by a small parser written to the part of
/// expr-lang's grammar (github.com/expr-lang/expr, which KEDA evaluates it with) that a formula over numbers uses:
/// numbers, trigger names, <c>+ - * / % ** ^</c>, unary <c>- + ! not</c>, comparisons, <c>== !=</c>, <c>&amp;&amp; and
/// || or</c>, <c>?:</c>, <c>??</c>, parentheses and the functions <c>max min abs ceil floor round float int</c>. Division
/// is always in floating point, as in expr-lang. Arrays, maps, closures and string values are refused with the reason.
/// </summary>
internal sealed class KedaFormula
{
    private readonly Node _root;

    private KedaFormula(Node root, IReadOnlyList<string> names)
    {
        _root = root;
        Names = names;
    }

    /// <summary>The trigger names the formula reads, in the order <see cref="Evaluate"/> takes their values.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Parses <paramref name="text"/> over the triggers <paramref name="triggers"/>; on failure returns null and says why.</summary>
    public static KedaFormula? TryParse(string? text, IReadOnlyList<string> triggers, out string? problem)
    {
        problem = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = "must be given (an expression over the triggers' names, such as \"(a + b) / 2\")";
            return null;
        }

        try
        {
            var parser = new Parser(text, triggers);
            var root = parser.Expression();
            parser.End();
            return new KedaFormula(root, triggers);
        }
        catch (FormatException e)
        {
            problem = e.Message;
            return null;
        }
    }

    /// <summary>The formula's value with trigger i at <paramref name="values"/>[i]; NaN when it is no number (a comparison, say).</summary>
    public double Evaluate(ReadOnlySpan<double> values)
    {
        var result = _root.Eval(values.ToArray());
        return result is double d ? d : double.NaN;
    }

    private abstract class Node
    {
        public abstract object Eval(double[] values);

        protected static double Number(object value, string what) =>
            value is double d ? d : throw new InvalidOperationException($"{what} needs a number");

        protected static bool Truth(object value, string what) =>
            value is bool b ? b : throw new InvalidOperationException($"{what} needs true or false");
    }

    private sealed class Constant(object value) : Node
    {
        public override object Eval(double[] values) => value;
    }

    private sealed class Variable(int index) : Node
    {
        public override object Eval(double[] values) => values[index];
    }

    private sealed class Unary(string op, Node operand) : Node
    {
        public override object Eval(double[] values) => op switch
        {
            "-" => -Number(operand.Eval(values), "-"),
            "+" => Number(operand.Eval(values), "+"),
            _ => !Truth(operand.Eval(values), op),
        };
    }

    private sealed class Binary(string op, Node left, Node right) : Node
    {
        public override object Eval(double[] values)
        {
            switch (op)
            {
                case "&&":
                    return Truth(left.Eval(values), op) && Truth(right.Eval(values), op);
                case "||":
                    return Truth(left.Eval(values), op) || Truth(right.Eval(values), op);
                case "??":
                    var first = left.Eval(values);
                    return first is double d && double.IsNaN(d) ? right.Eval(values) : first;
            }

            var l = left.Eval(values);
            var r = right.Eval(values);
            if (op is "==" or "!=")
            {
                return Equals(l, r) == (op == "==");
            }

            var a = Number(l, op);
            var b = Number(r, op);
            return op switch
            {
                "+" => a + b,
                "-" => a - b,
                "*" => a * b,
                "/" => a / b,
                "%" => Math.Truncate(a) % Math.Truncate(b),
                "**" or "^" => Math.Pow(a, b),
                "<" => a < b,
                ">" => a > b,
                "<=" => a <= b,
                _ => (object)(a >= b),
            };
        }
    }

    private sealed class Conditional(Node condition, Node then, Node otherwise) : Node
    {
        public override object Eval(double[] values) => Truth(condition.Eval(values), "?:") ? then.Eval(values) : otherwise.Eval(values);
    }

    private sealed class Call(string name, Node[] arguments) : Node
    {
        public override object Eval(double[] values)
        {
            var args = arguments.Select(a => Number(a.Eval(values), name)).ToArray();
            return name switch
            {
                "max" => args.Max(),
                "min" => args.Min(),
                "abs" => Math.Abs(args[0]),
                "ceil" => Math.Ceiling(args[0]),
                "floor" => Math.Floor(args[0]),
                "round" => Math.Round(args[0], MidpointRounding.AwayFromZero),
                "int" => Math.Truncate(args[0]),
                _ => args[0],
            };
        }
    }

    private sealed class Parser(string text, IReadOnlyList<string> names)
    {
        private static readonly string[] Functions = ["max", "min", "abs", "ceil", "floor", "round", "float", "int"];
        private int _at;

        public void End()
        {
            Skip();
            if (_at < text.Length)
            {
                throw new FormatException($"unexpected \"{text[_at..Math.Min(text.Length, _at + 10)]}\" at character {_at + 1}");
            }
        }

        public Node Expression()
        {
            var condition = Coalesce();
            if (!Accept("?"))
            {
                return condition;
            }

            var then = Expression();
            Expect(":");
            return new Conditional(condition, then, Expression());
        }

        private Node Coalesce() => LeftAssociative(Or, "??");

        private Node Or() => LeftAssociative(And, "||", "or");

        private Node And() => LeftAssociative(Equality, "&&", "and");

        private Node Equality() => LeftAssociative(Comparison, "==", "!=");

        private Node Comparison() => LeftAssociative(Additive, "<=", ">=", "<", ">");

        private Node Additive() => LeftAssociative(Multiplicative, "+", "-");

        private Node Multiplicative() => LeftAssociative(Power, "*", "/", "%");

        private Node Power()
        {
            var left = UnaryExpression();
            foreach (var op in new[] { "**", "^" })
            {
                if (Accept(op))
                {
                    return new Binary(op, left, Power()); // right-associative
                }
            }

            return left;
        }

        private Node LeftAssociative(Func<Node> next, params string[] ops)
        {
            var left = next();
            while (true)
            {
                var op = ops.FirstOrDefault(Accept);
                if (op is null)
                {
                    return left;
                }

                left = new Binary(op switch { "or" => "||", "and" => "&&", _ => op }, left, next());
            }
        }

        private Node UnaryExpression()
        {
            foreach (var op in new[] { "-", "+", "!", "not" })
            {
                if (Accept(op))
                {
                    return new Unary(op == "not" ? "!" : op, UnaryExpression());
                }
            }

            return Primary();
        }

        private Node Primary()
        {
            Skip();
            if (Accept("("))
            {
                var inner = Expression();
                Expect(")");
                return inner;
            }

            if (_at < text.Length && (char.IsAsciiDigit(text[_at]) || text[_at] == '.'))
            {
                var start = _at;
                while (_at < text.Length && (char.IsAsciiDigit(text[_at]) || text[_at] is '.' or '_'))
                {
                    _at++;
                }

                if (_at < text.Length && text[_at] is 'e' or 'E')
                {
                    _at++;
                    if (_at < text.Length && text[_at] is '+' or '-')
                    {
                        _at++;
                    }

                    while (_at < text.Length && char.IsAsciiDigit(text[_at]))
                    {
                        _at++;
                    }
                }

                var literal = text[start.._at].Replace("_", "", StringComparison.Ordinal);
                return double.TryParse(literal, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                    ? new Constant(number)
                    : throw new FormatException($"\"{literal}\" is not a number");
            }

            if (_at < text.Length && (char.IsAsciiLetter(text[_at]) || text[_at] is '_' or '$'))
            {
                var start = _at;
                while (_at < text.Length && (char.IsAsciiLetterOrDigit(text[_at]) || text[_at] is '_' or '$' || HyphenInName(start)))
                {
                    _at++;
                }

                var name = text[start.._at];
                if (name is "true" or "false")
                {
                    return new Constant(name == "true");
                }

                if (Accept("("))
                {
                    if (!Functions.Contains(name, StringComparer.Ordinal))
                    {
                        throw new FormatException($"the function \"{name}\" is not replayed (known: {string.Join(", ", Functions)})");
                    }

                    var arguments = new List<Node>();
                    if (!Accept(")"))
                    {
                        do
                        {
                            arguments.Add(Expression());
                        }
                        while (Accept(","));
                        Expect(")");
                    }

                    if (arguments.Count == 0 || (name is not ("max" or "min") && arguments.Count != 1))
                    {
                        throw new FormatException($"{name}() takes {(name is "max" or "min" ? "one or more arguments" : "one argument")}");
                    }

                    return new Call(name, [.. arguments]);
                }

                var index = names.ToList().IndexOf(name);
                return index >= 0
                    ? new Variable(index)
                    : throw new FormatException($"\"{name}\" names no trigger (triggers: {string.Join(", ", names)})");
            }

            if (_at < text.Length && text[_at] is '[' or '{' or '"' or '\'' or '#')
            {
                throw new FormatException($"arrays, maps, strings and closures ('{text[_at]}' at character {_at + 1}) are not replayed; write the formula over numbers");
            }

            throw new FormatException(_at < text.Length ? $"unexpected \"{text[_at]}\" at character {_at + 1}" : "ends too soon");
        }

        /// <summary>Whether the hyphen at the cursor belongs to a name (KEDA allows trigger names such as "queue-depth"): only while a trigger's name goes on so.</summary>
        private bool HyphenInName(int start)
        {
            if (text[_at] != '-')
            {
                return false;
            }

            var sofar = text[start.._at] + "-";
            return names.Any(n => n.StartsWith(sofar, StringComparison.Ordinal));
        }

        private void Skip()
        {
            while (_at < text.Length && char.IsWhiteSpace(text[_at]))
            {
                _at++;
            }
        }

        private bool Accept(string token)
        {
            Skip();
            if (string.CompareOrdinal(text, _at, token, 0, token.Length) != 0)
            {
                return false;
            }

            // A word operator must end at a word boundary; "<" must not eat the "<" of "<=".
            var end = _at + token.Length;
            if (char.IsAsciiLetter(token[0]) && end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] == '_'))
            {
                return false;
            }

            var next = end < text.Length ? text[end] : '\0';
            if ((token is "<" or ">" or "!" && next == '=') || (token == "*" && next == '*') || (token == "?" && next == '?'))
            {
                return false;
            }

            _at = end;
            return true;
        }

        private void Expect(string token)
        {
            if (!Accept(token))
            {
                throw new FormatException(_at < text.Length ? $"expected \"{token}\" at character {_at + 1}" : $"expected \"{token}\" at the end");
            }
        }
    }
}
