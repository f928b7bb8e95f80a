<?php
// SPDX-License-Identifier: MIT
//
// A PHP client of switchboard's word-frequency service ([wordfreq], docs/wordfreq.md). It talks
// to the daemon over its UNIX socket with stream_socket_client("unix://..."), as the seed's PHP
// page did, so a web application can ask for word frequencies without any network in between;
// tcp://HOST:PORT works too. It is both a small library (class WordFreq) and a command-line tool:
//
//   require 'wordfreq.php';
//   $wf = new WordFreq('/run/switchboard/wordfreq.sock');
//   foreach ($wf->rare(3.0, $text) as [$word, $count, $perMillion, $zipf]) { ... }
//
//   php wordfreq.php [--socket PATH|unix:PATH|tcp://HOST:PORT] COMMAND ARGS...
//   php wordfreq.php --socket /tmp/wf.sock FREQ the cat

declare(strict_types=1);

/** An `ERR ...` answer (the message is the reason), a failed connection or a broken answer. */
class WordFreqException extends RuntimeException
{
}

/**
 * One connection to the service. Requests are answered in order on the connection; an `ERR`
 * answer throws a WordFreqException and leaves the connection usable.
 */
final class WordFreq
{
    public const DEFAULT_SOCKET = './var/wordfreq.sock';

    // A FREQ or RARE answer line: word count per_million zipf.
    private const WORD_LINE = '/^(\S+) ([0-9]+) (\S+) (-?[0-9]+\.[0-9]+)$/';

    /** @var resource|null */
    private $stream;

    /**
     * @param string $address a socket path, unix:PATH, unix://PATH or tcp://HOST:PORT
     * @param float  $timeout seconds allowed to connect, and to wait for each answer line
     */
    public function __construct(string $address = self::DEFAULT_SOCKET, float $timeout = 5.0)
    {
        $url = self::url($address);
        $errno = 0;
        $errstr = '';
        // @: the failure is reported by the exception, not by a PHP warning.
        $stream = @stream_socket_client($url, $errno, $errstr, $timeout);
        if ($stream === false) {
            throw new WordFreqException(sprintf('cannot connect to %s: %s', $url,
                $errstr !== '' ? $errstr : "error $errno"));
        }
        stream_set_timeout($stream, (int) $timeout, (int) (fmod($timeout, 1.0) * 1e6));
        $this->stream = $stream;
    }

    public function __destruct()
    {
        $this->close();
    }

    /**
     * FREQ: one [word, count, per_million, zipf] per word, in order (each word as sent).
     *
     * @param string[] $words
     * @return list<array{0: string, 1: int|float, 2: float, 3: float}>
     */
    public function freq(array $words): array
    {
        return self::wordLines($this->request('FREQ ' . self::words($words)));
    }

    /**
     * AVG: [count, per_million, zipf] of the average of the words (unknown words count 0).
     *
     * @param string[] $words
     * @return array{0: float, 1: float, 2: float}
     */
    public function avg(array $words): array
    {
        $line = $this->request('AVG ' . self::words($words))[0];
        $f = explode(' ', $line);
        if (count($f) !== 3 || !is_numeric($f[0]) || !is_numeric($f[1]) || !is_numeric($f[2])) {
            throw new WordFreqException("malformed AVG answer: $line");
        }
        return [(float) $f[0], (float) $f[1], (float) $f[2]];
    }

    /**
     * RARE: the distinct words of $text whose Zipf value is below $zipf, unknown words included,
     * as [word, count, per_million, zipf] in order of first appearance.
     *
     * @return list<array{0: string, 1: int|float, 2: float, 3: float}>
     */
    public function rare(float $zipf, string $text): array
    {
        if (!is_finite($zipf)) {
            throw new InvalidArgumentException('the Zipf threshold must be a finite number');
        }
        // A request is one line: control characters (line ends included) become spaces, which
        // separate words anyway. Byte-wise, so UTF-8 sequences are never cut.
        $text = trim(preg_replace('/[\x00-\x1f\x7f]+/', ' ', $text));
        $threshold = rtrim(rtrim(sprintf('%.6F', $zipf), '0'), '.');
        return self::wordLines($this->request("RARE $threshold $text"));
    }

    /**
     * STATS: the fields as key => value (integers and decimals converted, format a string).
     *
     * @return array<string, int|float|string>
     */
    public function stats(): array
    {
        $out = [];
        foreach (explode(' ', $this->request('STATS')[0]) as $field) {
            [$key, $value] = array_pad(explode('=', $field, 2), 2, '');
            $out[$key] = self::number($value);
        }
        return $out;
    }

    /**
     * Send one request line and return its answer lines, without line ends (for RARE, without
     * the empty line that ends the answer). QUIT returns [] and closes the connection.
     *
     * @return list<string>
     */
    public function request(string $line): array
    {
        if (strpbrk($line, "\r\n") !== false) {
            throw new InvalidArgumentException('a request is one line');
        }
        $args = preg_split('/[ \t]+/', trim($line, " \t"), -1, PREG_SPLIT_NO_EMPTY);
        if (!$args) {
            // The service ignores empty lines: there would be no answer to wait for.
            throw new InvalidArgumentException('empty request');
        }
        $verb = strtoupper($args[0]);
        $this->write($line . "\n");
        if ($verb === 'QUIT') {
            $this->disconnect();
            return [];
        }

        $first = $this->readLine();
        // An error is one line, wherever an answer starts. A FREQ line of the word "ERR" also
        // starts with "ERR ", but has the numbers of a word line after it.
        if (str_starts_with($first, 'ERR ') && !preg_match(self::WORD_LINE, $first)) {
            throw new WordFreqException(substr($first, 4));
        }
        switch ($verb) {
            case 'FREQ':  // one line per word
                $lines = [$first];
                for ($i = 2; $i < count($args); $i++) {
                    $lines[] = $this->readLine();
                }
                return $lines;
            case 'RARE':  // lines up to an empty one
                $lines = [];
                for ($l = $first; $l !== ''; $l = $this->readLine()) {
                    $lines[] = $l;
                }
                return $lines;
            default:      // AVG, STATS: one line
                return [$first];
        }
    }

    /** Say QUIT and close the connection (again: nothing). */
    public function close(): void
    {
        if ($this->stream !== null) {
            @fwrite($this->stream, "QUIT\n");
            $this->disconnect();
        }
    }

    // -----------------------------------------------------------------------------------------

    private function disconnect(): void
    {
        if ($this->stream !== null) {
            fclose($this->stream);
            $this->stream = null;
        }
    }

    private function write(string $data): void
    {
        if ($this->stream === null) {
            throw new WordFreqException('the connection is closed');
        }
        // fwrite() on a socket may take only part of the data.
        for ($done = 0; $done < strlen($data); $done += $n) {
            $n = @fwrite($this->stream, substr($data, $done));
            if ($n === false || $n === 0) {
                throw new WordFreqException('cannot send the request: connection lost');
            }
        }
    }

    private function readLine(): string
    {
        if ($this->stream === null) {
            throw new WordFreqException('the connection is closed');
        }
        $line = fgets($this->stream);
        if ($line === false || !str_ends_with($line, "\n")) {
            $why = stream_get_meta_data($this->stream)['timed_out'] ? 'timed out waiting for'
                : 'connection closed before';
            throw new WordFreqException("$why the answer");
        }
        return rtrim($line, "\r\n");
    }

    /** The words of a request, checked: none may be empty or hold a space or control byte. */
    private static function words(array $words): string
    {
        foreach ($words as $w) {
            if (!is_string($w) || $w === '' || preg_match('/[\x00-\x20\x7f]/', $w)) {
                throw new InvalidArgumentException('a word is a non-empty string without '
                    . 'spaces or control characters: ' . var_export($w, true));
            }
        }
        return implode(' ', $words);
    }

    /** FREQ and RARE lines as [word, count, per_million, zipf]. */
    private static function wordLines(array $lines): array
    {
        $out = [];
        foreach ($lines as $line) {
            if (!preg_match(self::WORD_LINE, $line, $m) || !is_numeric($m[3])) {
                throw new WordFreqException("malformed answer line: $line");
            }
            $out[] = [$m[1], self::number($m[2]), (float) $m[3], (float) $m[4]];
        }
        return $out;
    }

    /** "123" -> int (float past PHP_INT_MAX: counts go up to 2^64-1), "1.5" -> float. */
    private static function number(string $s): int|float|string
    {
        if (ctype_digit($s)) {
            $digits = ltrim($s, '0');
            if ($digits === '') {
                return 0;
            }
            // (int) saturates at PHP_INT_MAX: a larger count is kept as a float.
            return (string) (int) $digits === $digits ? (int) $digits : (float) $digits;
        }
        return is_numeric($s) ? (float) $s : $s;
    }

    private static function url(string $address): string
    {
        if (str_starts_with($address, 'unix://') || str_starts_with($address, 'tcp://')) {
            return $address;
        }
        if (str_starts_with($address, 'unix:')) {
            return 'unix://' . substr($address, 5);
        }
        return 'unix://' . $address;
    }
}

/** The command line: prints the answer lines; 1 on ERR or a failed connection, 2 on misuse. */
function wordfreq_main(array $argv): int
{
    $usage = "usage: php wordfreq.php [--socket PATH|unix:PATH|tcp://HOST:PORT] COMMAND ARGS...\n"
        . "  COMMAND: FREQ w1 w2 ... | AVG w1 w2 ... | RARE ZIPF text... | STATS\n"
        . '  default socket: ' . WordFreq::DEFAULT_SOCKET . "\n";
    $socket = WordFreq::DEFAULT_SOCKET;
    $args = array_slice($argv, 1);
    while ($args && str_starts_with($args[0], '-')) {
        $opt = array_shift($args);
        if ($opt === '--') {
            break;
        } elseif ($opt === '--help' || $opt === '-h') {
            echo $usage;
            return 0;
        } elseif (($opt === '--socket' || $opt === '-s') && $args) {
            $socket = array_shift($args);
        } elseif (str_starts_with($opt, '--socket=')) {
            $socket = substr($opt, strlen('--socket='));
        } else {
            fwrite(STDERR, $usage);
            return 2;
        }
    }
    if (!$args) {
        fwrite(STDERR, $usage);
        return 2;
    }
    try {
        $wf = new WordFreq($socket);
        foreach ($wf->request(implode(' ', $args)) as $line) {
            echo $line, "\n";
        }
        $wf->close();
        return 0;
    } catch (WordFreqException $e) {
        fwrite(STDERR, 'wordfreq.php: ' . $e->getMessage() . "\n");
        return 1;
    } catch (InvalidArgumentException $e) {
        fwrite(STDERR, 'wordfreq.php: ' . $e->getMessage() . "\n");
        return 2;
    }
}

// Run as a command only when this file is the script itself, not when it is require'd.
if (PHP_SAPI === 'cli' && realpath($_SERVER['SCRIPT_FILENAME'] ?? '') === __FILE__) {
    exit(wordfreq_main($_SERVER['argv']));
}
