"""The SQL scripts the SQLite shell runs in the real-program benchmark and test, fed on stdin.

workload(scale) is about a second of work under wasmtime at scale 1: literal INSERTs in
transactions (the parser and the B-tree), bulk inserts from recursive CTEs, an index, joins,
GROUP BY aggregates, window functions, a recursive CTE, UPDATE/DELETE, JSON and FTS5. Its
output is deterministic: the data come from a fixed linear congruential generator, every
query orders its rows, and nothing reads the clock or random(). The first line (`.print`)
comes out before any work, for the time to first output.
"""

FIRST_LINE = "sqlite workload"

CITIES = ("Lyon", "Oslo", "Kyoto", "Lima", "Perth", "Quito", "Turku", "Accra", "Cork", "Dakar")
WORDS = ("apple", "river", "stone", "cloud", "ember", "frost", "grove", "harbor", "iris",
         "jade", "kelp", "lumen", "moss", "north", "opal", "pine", "quartz", "reed")


def _lcg(seed):
    """A fixed pseudo-random sequence (the same on every machine and Python)."""
    state = seed
    while True:
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        yield state >> 33


def _literal_inserts(customers, orders, seed):
    numbers = _lcg(seed)
    lines = ["BEGIN;"]
    for cid in range(1, customers + 1):
        name = f"{WORDS[next(numbers) % len(WORDS)]}-{cid}"
        city = CITIES[next(numbers) % len(CITIES)]
        lines.append(f"INSERT INTO customers VALUES({cid}, '{name}', '{city}', "
                     f"{1990 + next(numbers) % 35});")
    lines.append("COMMIT;")
    for oid in range(1, orders + 1):
        if oid % 2000 == 1:
            lines.append("BEGIN;")
        note = " ".join(WORDS[next(numbers) % len(WORDS)] for _ in range(3))
        lines.append(f"INSERT INTO orders VALUES({oid}, {1 + next(numbers) % customers}, "
                     f"{next(numbers) % 365}, {next(numbers) % 100000}, '{note}');")
        if oid % 2000 == 0 or oid == orders:
            lines.append("COMMIT;")
    return lines


def workload(scale=1.0, seed=2024):
    """The benchmark's SQL script (text); scale multiplies the amount of data."""
    customers, orders = int(2000 * scale), int(20000 * scale)
    items = int(150000 * scale)
    return "\n".join([
        f".print {FIRST_LINE}",
        "PRAGMA temp_store = memory;",
        "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT, since INT);",
        "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INT, day INT, amount INT, "
        "note TEXT);",
        "CREATE TABLE items(order_id INT, product INT, qty INT, price INT);",
        *_literal_inserts(customers, orders, seed),
        "BEGIN;",
        f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {items}) "
        f"INSERT INTO items SELECT 1 + (i * 7919) % {orders}, (i * 104729) % 500, 1 + i % 7, "
        "100 + (i * 31) % 900 FROM n;",
        "COMMIT;",
        "CREATE INDEX items_order ON items(order_id);",
        "CREATE INDEX orders_customer ON orders(customer);",
        ".print -- totals per city",
        "SELECT c.city, count(DISTINCT c.id), count(o.id), sum(o.amount) FROM customers c "
        "JOIN orders o ON o.customer = c.id GROUP BY c.city ORDER BY c.city;",
        ".print -- best products",
        "SELECT i.product, sum(i.qty * i.price) AS revenue, count(*) FROM items i "
        "GROUP BY i.product ORDER BY revenue DESC, i.product LIMIT 8;",
        ".print -- revenue per city (three-way join through the index)",
        "SELECT c.city, sum(i.qty * i.price), round(avg(i.price), 3) FROM customers c "
        "JOIN orders o ON o.customer = c.id JOIN items i ON i.order_id = o.id "
        "GROUP BY c.city ORDER BY 2 DESC, c.city;",
        ".print -- top customers per city (window function)",
        "SELECT city, name, total FROM (SELECT c.city, c.name, sum(o.amount) AS total, "
        "rank() OVER (PARTITION BY c.city ORDER BY sum(o.amount) DESC, c.id) AS r "
        "FROM customers c JOIN orders o ON o.customer = c.id GROUP BY c.id) "
        "WHERE r <= 2 ORDER BY city, r;",
        ".print -- running total by day",
        "SELECT day, sum(amount), sum(sum(amount)) OVER (ORDER BY day) FROM orders "
        "WHERE day % 73 = 0 GROUP BY day ORDER BY day;",
        ".print -- collatz (recursive CTE)",
        "WITH RECURSIVE c(start, n, steps) AS (SELECT s, s, 0 FROM (WITH RECURSIVE "
        f"k(s) AS (SELECT 1 UNION ALL SELECT s + 1 FROM k WHERE s < {int(3000 * scale)}) "
        "SELECT s FROM k) UNION ALL SELECT start, CASE WHEN n % 2 THEN 3 * n + 1 "
        "ELSE n / 2 END, steps + 1 FROM c WHERE n > 1) "
        "SELECT start, max(steps) FROM c GROUP BY start ORDER BY 2 DESC, 1 LIMIT 5;",
        ".print -- updates and deletes",
        "BEGIN;",
        "UPDATE orders SET amount = amount + 1 WHERE day % 5 = 0;",
        "DELETE FROM items WHERE qty = 7 AND product % 3 = 0;",
        "COMMIT;",
        "SELECT count(*), sum(qty), sum(price) FROM items;",
        "SELECT count(*), sum(amount), min(amount), max(amount) FROM orders;",
        ".print -- text, json and full-text search",
        "SELECT substr(note, 1, instr(note, ' ') - 1) AS w, count(*) FROM orders "
        "GROUP BY w ORDER BY 2 DESC, w LIMIT 5;",
        "SELECT json_group_array(json_object('city', city, 'n', n)) FROM "
        "(SELECT city, count(*) AS n FROM customers GROUP BY city ORDER BY city);",
        "CREATE VIRTUAL TABLE notes USING fts5(note);",
        "INSERT INTO notes SELECT note FROM orders;",
        "SELECT count(*) FROM notes WHERE notes MATCH 'river AND stone';",
        "SELECT count(*) FROM notes WHERE notes MATCH 'ember NOT jade';",
        "PRAGMA integrity_check;",
        ".print done",
        "",
    ])


def small():
    """A short script for the transcript test (a fraction of a second of work): the workload
    at a small scale, then the shell's output modes, its schema commands, float formatting
    and a failing statement (an error on stderr and exit status 1)."""
    return workload(scale=0.02) + "\n".join([
        ".headers on",
        ".mode box",
        "SELECT city, count(*) AS n, avg(since) FROM customers GROUP BY city ORDER BY city "
        "LIMIT 3;",
        ".mode json",
        "SELECT * FROM customers ORDER BY id LIMIT 2;",
        ".mode list",
        ".tables",
        ".schema items",
        "SELECT printf('%.6f|%e|%g', sum(id * 1.5 / 7), exp(1), pi()) FROM orders;",
        "SELECT no_such_function(1);",
        ".print end",
        "",
    ])


if __name__ == "__main__":
    import sys
    sys.stdout.write(workload(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0))
